// pgjdbc under transaction pooling. Run by tests/integration/test_transaction_pooling.py as
//   java -cp /usr/share/java/postgresql.jar JdbcTxnPool.java <jdbc url> <user> <password> <table>
//        <clients> <transactions per client> <threads>
// Opens every connection first (prepareThreshold=1: server-prepared statements, named S_n by the
// driver, the same names on every connection), then runs the transactions in rounds: round t runs
// transaction t of every client on a pool of <threads> threads, so each client's next transaction
// comes after many other clients' and lands on whichever upstream is free. The PreparedStatements
// are created once per connection and reused in every round. One statement ('mine') has a text
// that differs per client. A last round fails a transaction on purpose and rolls it back.
// Prints one JSON object with counts; the pytest test checks them and the table's rows.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public class JdbcTxnPool {
    static final AtomicInteger connected = new AtomicInteger();
    static final AtomicInteger transactions = new AtomicInteger();
    static final AtomicInteger errors = new AtomicInteger();
    static final AtomicInteger expectedErrors = new AtomicInteger();
    static final AtomicInteger pidMismatches = new AtomicInteger();
    static final AtomicInteger echoMismatches = new AtomicInteger();
    static final AtomicInteger mineMismatches = new AtomicInteger();
    static final AtomicInteger afterErrorOk = new AtomicInteger();
    static final ConcurrentLinkedQueue<String> firstErrors = new ConcurrentLinkedQueue<>();

    static void fail(String where, Throwable e) {
        errors.incrementAndGet();
        if (firstErrors.size() < 10) {
            String state = e instanceof SQLException ? ((SQLException) e).getSQLState() + " " : "";
            firstErrors.add(where + ": " + state + e);
        }
    }

    static final class Client {
        final int id;
        final Connection conn;
        final PreparedStatement pid, ins, echo, mine, div;
        final Set<Integer> upstreams = new HashSet<>();

        Client(int id, Connection conn, String table) throws SQLException {
            this.id = id;
            this.conn = conn;
            conn.setAutoCommit(false);
            pid = conn.prepareStatement("SELECT pg_backend_pid()");
            ins = conn.prepareStatement("INSERT INTO " + table + " (id, v) VALUES (?, ?)");
            echo = conn.prepareStatement("SELECT ?::int, ?::text");
            mine = conn.prepareStatement("SELECT " + id + "::int AS me");
            div = conn.prepareStatement("SELECT 1 / ?::int");
        }

        int one(PreparedStatement ps) throws SQLException {
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }

        void transaction(int t) {
            int rowId = id * 100 + t;
            try {
                int p1 = one(pid);
                ins.setInt(1, rowId);
                ins.setString(2, "jdbc-" + id);
                ins.executeUpdate();
                echo.setInt(1, rowId);
                echo.setString(2, "e" + id);
                try (ResultSet rs = echo.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) != rowId || !("e" + id).equals(rs.getString(2)))
                        echoMismatches.incrementAndGet();
                }
                if (one(mine) != id)
                    mineMismatches.incrementAndGet();
                int p2 = one(pid);
                if (p1 != p2)
                    pidMismatches.incrementAndGet();
                conn.commit();
                upstreams.add(p1);
                transactions.incrementAndGet();
            } catch (SQLException e) {
                fail("client " + id + " txn " + t, e);
                try { conn.rollback(); } catch (SQLException ignored) { }
            }
        }

        void failingTransaction() {
            try {
                ins.setInt(1, id * 100 + 99);
                ins.setString(2, "rolled back");
                ins.executeUpdate();
                div.setInt(1, 0);
                try {
                    one(div);
                    fail("client " + id + " division", new RuntimeException("no error for 1/0"));
                } catch (SQLException e) {
                    if ("22012".equals(e.getSQLState())) expectedErrors.incrementAndGet();
                    else fail("client " + id + " division", e);
                }
                conn.rollback();
                div.setInt(1, 1);
                echo.setInt(1, id);
                echo.setString(2, "after");
                boolean ok = one(div) == 1;
                try (ResultSet rs = echo.executeQuery()) {
                    rs.next();
                    ok = ok && rs.getInt(1) == id && "after".equals(rs.getString(2));
                }
                conn.commit();
                if (ok) afterErrorOk.incrementAndGet();
                else fail("client " + id + " after error", new RuntimeException("wrong results"));
            } catch (SQLException e) {
                fail("client " + id + " error transaction", e);
            }
        }
    }

    static void awaitAll(List<Future<?>> futures) throws Exception {
        for (Future<?> f : futures) f.get(120, TimeUnit.SECONDS);
        futures.clear();
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2], table = args[3];
        int nClients = Integer.parseInt(args[4]), nTxns = Integer.parseInt(args[5]);
        int nThreads = Integer.parseInt(args[6]);
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("prepareThreshold", "1"); // server-prepared statements from the start
        props.setProperty("sslmode", "disable");
        props.setProperty("connectTimeout", "30");
        props.setProperty("socketTimeout", "60");

        ExecutorService pool = Executors.newFixedThreadPool(nThreads);
        Client[] clients = new Client[nClients];
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < nClients; i++) {
            final int id = i;
            futures.add(pool.submit(() -> {
                try {
                    clients[id] = new Client(id, DriverManager.getConnection(url, props), table);
                    connected.incrementAndGet();
                } catch (SQLException e) {
                    fail("connect " + id, e);
                }
            }));
        }
        awaitAll(futures);
        for (int t = 0; t < nTxns; t++) {
            final int round = t;
            for (Client c : clients)
                if (c != null) futures.add(pool.submit(() -> c.transaction(round)));
            awaitAll(futures);
        }
        for (Client c : clients)
            if (c != null) futures.add(pool.submit(c::failingTransaction));
        awaitAll(futures);
        int several = 0;
        for (Client c : clients) {
            if (c == null) continue;
            if (c.upstreams.size() > 1) several++;
            try { c.conn.close(); } catch (SQLException e) { fail("close " + c.id, e); }
        }
        pool.shutdown();

        StringBuilder errs = new StringBuilder("[");
        for (String s : firstErrors) {
            if (errs.length() > 1) errs.append(',');
            errs.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ")).append('"');
        }
        errs.append(']');
        System.out.println("{\"clients\": " + nClients + ", \"connected\": " + connected.get()
            + ", \"transactions\": " + transactions.get() + ", \"errors\": " + errors.get()
            + ", \"expectedErrors\": " + expectedErrors.get() + ", \"pidMismatches\": " + pidMismatches.get()
            + ", \"echoMismatches\": " + echoMismatches.get() + ", \"mineMismatches\": " + mineMismatches.get()
            + ", \"afterErrorOk\": " + afterErrorOk.get() + ", \"clientsOnSeveralUpstreams\": " + several
            + ", \"firstErrors\": " + errs + "}");
    }
}
