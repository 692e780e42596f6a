// pgjdbc reading the legacy tables. Run by tests/integration/test_legacy_drivers.py as
//   java -cp /usr/share/java/postgresql.jar JdbcLegacy.java <jdbc url> <user> <password>
// once through switchyard (served by MariaDB) and once on the Postgres copy; prints one JSON
// object (last line) that must be the same both times.
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public class JdbcLegacy {
    static String json(Object o) {
        if (o == null) return "null";
        if (o instanceof String) {
            StringBuilder sb = new StringBuilder("\"");
            for (char c : ((String) o).toCharArray()) {
                if (c == '"' || c == '\\') sb.append('\\').append(c);
                else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            return sb.append('"').toString();
        }
        if (o instanceof Number || o instanceof Boolean) return o.toString();
        if (o instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
                if (!first) sb.append(',');
                first = false;
                sb.append(json(e.getKey().toString())).append(':').append(json(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (o instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            boolean first = true;
            for (Object x : (List<?>) o) {
                if (!first) sb.append(',');
                first = false;
                sb.append(json(x));
            }
            return sb.append(']').toString();
        }
        return json(o.toString());
    }

    static List<Object> rows(ResultSet rs) throws SQLException {
        List<Object> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            List<Object> row = new ArrayList<>();
            for (int i = 1; i <= n; i++) row.add(rs.getString(i));
            out.add(row);
        }
        return out;
    }

    interface Section {
        void run() throws Exception;
    }

    // One section's failure is recorded as its value ("error: SQLSTATE message"): the others still run.
    static void section(Map<String, Object> out, String name, Section body) {
        try {
            body.run();
        } catch (SQLException e) {
            out.put(name, "error: " + e.getSQLState() + " " + e.getMessage());
        } catch (Exception e) {
            out.put(name, "error: " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2];
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("prepareThreshold", "1"); // server-prepared from the first execution
        props.setProperty("options", "-c TimeZone=UTC");
        Map<String, Object> out = new LinkedHashMap<>();

        try (Connection conn = DriverManager.getConnection(url, props)) {
            // A PreparedStatement executed with several parameter sets and types.
            section(out, "prepared", () -> {
                List<Object> prepared = new ArrayList<>();
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT customer_id, name, status, points, balance FROM customers"
                        + " WHERE customer_id BETWEEN ? AND ? AND balance >= ? AND name <> ? ORDER BY customer_id")) {
                    long[][] ranges = {{1, 20}, {50, 70}, {190, 260}, {1000, 2000}};
                    for (long[] r : ranges) {
                        ps.setLong(1, r[0]);
                        ps.setLong(2, r[1]);
                        ps.setBigDecimal(3, new BigDecimal("0.00"));
                        ps.setString(4, "Lee");
                        try (ResultSet rs = ps.executeQuery()) {
                            prepared.add(rows(rs));
                        }
                    }
                }
                out.put("prepared", prepared);
            });
            section(out, "typed_timestamp", () -> {
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT payment_id, amount, paid_at FROM payments WHERE paid_at >= ? AND amount > ?"
                        + " AND currency = ? ORDER BY payment_id LIMIT 15")) {
                    ps.setTimestamp(1, Timestamp.valueOf("2024-03-01 00:00:00"));
                    ps.setInt(2, 100);
                    ps.setString(3, "KRW");
                    try (ResultSet rs = ps.executeQuery()) {
                        out.put("typed_timestamp", rows(rs));
                    }
                }
            });
            section(out, "typed_bool_null", () -> {
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT count(*) FROM subscriptions WHERE auto_renew = ? AND ends_at IS NOT DISTINCT FROM ?")) {
                    ps.setBoolean(1, true);
                    ps.setNull(2, Types.DATE);
                    try (ResultSet rs = ps.executeQuery()) {
                        out.put("typed_bool_null", rows(rs));
                    }
                }
            });

            // setFetchSize inside a transaction: pgjdbc binds a named portal and sends Execute with
            // a row limit; the server answers PortalSuspended until the last batch.
            section(out, "fetch", () -> {
                conn.setAutoCommit(false);
                try {
                    Map<String, Object> fetch = new LinkedHashMap<>();
                    try (Statement st = conn.createStatement()) {
                        st.setFetchSize(64);
                        try (ResultSet rs = st.executeQuery(
                                "SELECT payment_id, subscription_id, amount, currency FROM payments ORDER BY payment_id")) {
                            List<Object> all = rows(rs);
                            fetch.put("count", all.size());
                            fetch.put("first", all.isEmpty() ? null : all.get(0));
                            fetch.put("last", all.isEmpty() ? null : all.get(all.size() - 1));
                            fetch.put("hash", all.toString().hashCode());
                        }
                    }
                    out.put("fetch", fetch);
                } finally {
                    conn.rollback();
                    conn.setAutoCommit(true);
                }
            });
            section(out, "fetch_prepared", () -> {
                conn.setAutoCommit(false);
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT customer_id, name FROM customers WHERE customer_id > ? ORDER BY customer_id")) {
                    ps.setFetchSize(10);
                    ps.setInt(1, 0);
                    try (ResultSet rs = ps.executeQuery()) {
                        out.put("fetch_prepared", rows(rs).size());
                    }
                } finally {
                    conn.rollback();
                    conn.setAutoCommit(true);
                }
            });
            // A fetch-size read abandoned half-way: its portal goes away with the transaction.
            section(out, "fetch_partial", () -> {
                conn.setAutoCommit(false);
                try (Statement st = conn.createStatement()) {
                    st.setFetchSize(10);
                    try (ResultSet rs = st.executeQuery("SELECT customer_id FROM customers ORDER BY customer_id")) {
                        int n = 0;
                        while (n < 15 && rs.next()) n++;
                        out.put("fetch_partial", rs.getString(1));
                    }
                    conn.commit();
                } finally {
                    conn.setAutoCommit(true);
                }
            });

            // ResultSetMetaData of every legacy column.
            for (String table : new String[] {"customers", "subscriptions", "payments"}) {
                section(out, "meta_" + table, () -> {
                    try (Statement st = conn.createStatement();
                         ResultSet rs = st.executeQuery("SELECT * FROM " + table + " LIMIT 1")) {
                        ResultSetMetaData md = rs.getMetaData();
                        List<Object> cols = new ArrayList<>();
                        List<Object> mods = new ArrayList<>();
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            List<Object> c = new ArrayList<>();
                            c.add(md.getColumnLabel(i));
                            c.add(md.getColumnTypeName(i));
                            c.add(md.getColumnType(i));
                            c.add(md.getColumnClassName(i));
                            cols.add(c);
                            List<Object> m = new ArrayList<>();
                            m.add(md.getColumnLabel(i));
                            m.add(md.getPrecision(i));
                            m.add(md.getScale(i));
                            mods.add(m);
                        }
                        out.put("meta_" + table, cols);
                        out.put("typmod_" + table, mods);
                    }
                });
            }
            // Aggregates' types as pgjdbc sees them.
            section(out, "aggregates", () -> {
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery(
                         "SELECT count(*), sum(points), avg(points), sum(balance), max(created_at) FROM customers")) {
                    ResultSetMetaData md = rs.getMetaData();
                    List<Object> cols = new ArrayList<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) cols.add(md.getColumnTypeName(i));
                    out.put("meta_aggregates", cols);
                    out.put("aggregates", rows(rs));
                }
            });
            // An error, then the connection goes on.
            section(out, "error", () -> {
                try (Statement st = conn.createStatement()) {
                    st.executeQuery("SELECT nosuchcol FROM customers");
                    out.put("error", null);
                } catch (SQLException e) {
                    out.put("error", e.getSQLState());
                }
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery("SELECT count(*) FROM customers")) {
                    out.put("after", rows(rs));
                }
            });
        }
        System.out.println(json(out));
    }
}
