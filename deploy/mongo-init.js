// Initiate the replica set rs0 once; later runs find it initiated and change nothing.
try {
  rs.status();
  print("replica set already initiated");
} catch (e) {
  rs.initiate({
    _id: "rs0",
    members: [
      { _id: 0, host: "mongo1:27017" },
      { _id: 1, host: "mongo2:27017" },
      { _id: 2, host: "mongo3:27017" },
    ],
  });
}
// Wait for a primary so the API's first transaction finds one.
while (!db.hello().isWritablePrimary && !db.hello().primary) { sleep(500); }
print("replica set ready: " + db.hello().primary);
