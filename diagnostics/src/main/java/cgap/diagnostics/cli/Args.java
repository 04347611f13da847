package cgap.diagnostics.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A small GNU-style option parser: {@code --name value}, {@code --name=value} and boolean {@code --flag}. */
public final class Args {
    private final String command;
    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    /** Thrown for a bad command line; the CLI prints the message and the command's usage and exits 2. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String m) {
            super(m);
        }
    }

    public Args(String command, String[] argv, Set<String> flags, Set<String> options) {
        this.command = command;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.startsWith("--")) {
                String name = a.substring(2), val = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    val = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (flags.contains(name)) {
                    if (val != null) throw new UsageException(command + ": --" + name + " takes no value");
                    values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
                } else if (options.contains(name)) {
                    if (val == null) {
                        if (i + 1 >= argv.length) throw new UsageException(command + ": --" + name + " needs a value");
                        val = argv[++i];
                    }
                    values.computeIfAbsent(name, k -> new ArrayList<>()).add(val);
                } else {
                    throw new UsageException(command + ": unknown option --" + name);
                }
            } else {
                positional.add(a);
            }
        }
    }

    public boolean flag(String name) {
        return values.containsKey(name);
    }

    public String get(String name) {
        List<String> v = values.get(name);
        return v == null ? null : v.get(v.size() - 1);
    }

    public List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    public String require(String name) {
        String v = get(name);
        if (v == null) throw new UsageException(command + ": --" + name + " is required");
        return v;
    }

    public int getInt(String name, int def) {
        String v = get(name);
        if (v == null) return def;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + name + " expects an integer, got '" + v + "'");
        }
    }

    /** Repeated {@code --name KEY=VALUE} options as a map; "true"/"false" become booleans. */
    public Map<String, Object> keyValues(String name) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String kv : all(name)) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new UsageException(command + ": --" + name + " expects KEY=VALUE, got '" + kv + "'");
            String v = kv.substring(eq + 1);
            m.put(kv.substring(0, eq), v.equals("true") ? Boolean.TRUE : v.equals("false") ? Boolean.FALSE : v);
        }
        return m;
    }

    public List<String> positional() {
        return positional;
    }
}
