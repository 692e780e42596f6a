// pgjdbc through switchyard. Run by tests/integration/test_jdbc.py as
//   java -cp /usr/share/java/postgresql.jar JdbcCheck.java <jdbc url> <user> <password> <table>
// Prints one JSON object with what it saw; the pytest test checks it.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public class JdbcCheck {
    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2], table = args[3];
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("prepareThreshold", "1"); // server-prepared from the first execution
        props.setProperty("sslmode", "disable");
        Map<String, Object> out = new LinkedHashMap<>();

        try (Connection conn = DriverManager.getConnection(url, props)) {
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT current_database(), 6 * 7")) {
                rs.next();
                out.put("db", rs.getString(1));
                out.put("answer", rs.getInt(2));
            }

            // The same PreparedStatement executed several times: a named server statement.
            List<Object> squares = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::int * ?::int")) {
                for (int i = 1; i <= 5; i++) {
                    ps.setInt(1, i);
                    ps.setInt(2, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        squares.add(rs.getInt(1));
                    }
                }
                out.put("squares", squares);
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery(
                         "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%$1::int * $2::int%'")) {
                    rs.next();
                    out.put("server_prepared", rs.getInt(1));
                }
            }

            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, v text)");
            }

            // A batch of inserts (pgjdbc sends them pipelined before one Sync).
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + table + " VALUES (?, ?)")) {
                for (int i = 1; i <= 100; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "batch " + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                int sum = 0;
                for (int c : counts) sum += (c == Statement.SUCCESS_NO_INFO ? 1 : c);
                out.put("batch", sum);
            }

            // A transaction rolled back, then one committed.
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("UPDATE " + table + " SET v = ? WHERE id <= ?")) {
                ps.setString(1, "rolled back");
                ps.setInt(2, 50);
                ps.executeUpdate();
                conn.rollback();
                ps.setString(1, "committed");
                ps.setInt(2, 10);
                out.put("updated", ps.executeUpdate());
                conn.commit();
            }
            // An error inside a transaction, then recovery.
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT 1/0");
                out.put("error", null);
            } catch (SQLException e) {
                out.put("error", e.getSQLState());
            }
            conn.rollback();
            conn.setAutoCommit(true);

            try (PreparedStatement ps = conn.prepareStatement(
                     "SELECT v, count(*) FROM " + table + " GROUP BY v ORDER BY v")) {
                Map<String, Object> groups = new LinkedHashMap<>();
                for (int round = 0; round < 2; round++) {
                    groups.clear();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            String v = rs.getString(1);
                            if (v.startsWith("batch")) v = "batch";
                            groups.merge(v, rs.getInt(2), (a, b) -> (Integer) a + (Integer) b);
                        }
                    }
                }
                out.put("groups", groups);
            }
        }
        System.out.println(toJson(out));
    }

    static String toJson(Object o) {
        if (o == null) return "null";
        if (o instanceof String) return "\"" + ((String) o).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        if (o instanceof Number || o instanceof Boolean) return o.toString();
        if (o instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
                if (sb.length() > 1) sb.append(",");
                sb.append(toJson(e.getKey().toString())).append(":").append(toJson(e.getValue()));
            }
            return sb.append("}").toString();
        }
        if (o instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            for (Object x : (List<?>) o) {
                if (sb.length() > 1) sb.append(",");
                sb.append(toJson(x));
            }
            return sb.append("]").toString();
        }
        throw new IllegalArgumentException(o.getClass().toString());
    }
}
