"""MongoDB persistence through PyMongo's async client."""
