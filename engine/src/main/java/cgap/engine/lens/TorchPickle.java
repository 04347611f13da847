package cgap.engine.lens;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small pickle reader for what {@code torch.save} writes into a checkpoint's {@code data.pkl} (pickle protocol 2,
 * and the few protocol-4 opcodes newer Pythons emit): dicts, lists, tuples, strings, numbers, globals, REDUCE of
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2} and {@code _rebuild_parameter}, and
 * persistent ids naming tensor storages. Nothing is ever executed: unknown callables become {@link Call} values.
 */
final class TorchPickle {
    /** A reference to module.name. */
    record Global(String module, String name) {
    }

    /** An unknown callable applied to its arguments (kept as data). */
    record Call(Object callable, Object args) {
    }

    /** A persistent id ('storage', type, key, location, numel): the bytes of {@code data/<key>} in the archive. */
    record Storage(String type, String key, long numel) {
    }

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)}. */
    record Tensor(Storage storage, long offset, long[] shape, long[] stride) {
    }

    private static final Object MARK = new Object();

    private final ByteBuffer in;
    private final String where;
    private final ArrayDeque<Object> stack = new ArrayDeque<>();
    private final Map<Integer, Object> memo = new HashMap<>();

    private TorchPickle(byte[] data, String where) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.where = where;
    }

    static Object load(byte[] data, String where) {
        return new TorchPickle(data, where).run();
    }

    private IllegalArgumentException bad(String m) {
        return new IllegalArgumentException(where + ": " + m + " at byte " + in.position());
    }

    private String line() {
        StringBuilder sb = new StringBuilder();
        byte b;
        while ((b = in.get()) != '\n') sb.append((char) b);
        return sb.toString();
    }

    private String utf8(int n) {
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private List<Object> popMark() {
        List<Object> items = new ArrayList<>();
        while (!stack.isEmpty()) {
            Object o = stack.pop();
            if (o == MARK) break;
            items.addFirst(o);
        }
        return items;
    }

    @SuppressWarnings("unchecked")
    private Object run() {
        while (true) {
            if (!in.hasRemaining()) throw bad("pickle ends without STOP");
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> in.get(); // PROTO
                case 0x95 -> in.getLong(); // FRAME
                case '}' -> stack.push(new LinkedHashMap<Object, Object>());
                case ']' -> stack.push(new ArrayList<>());
                case ')' -> stack.push(List.of());
                case '(' -> stack.push(MARK);
                case 'N' -> stack.push(NONE);
                case 0x88 -> stack.push(Boolean.TRUE);
                case 0x89 -> stack.push(Boolean.FALSE);
                case 'K' -> stack.push((long) (in.get() & 0xff));
                case 'M' -> stack.push((long) (in.getShort() & 0xffff));
                case 'J' -> stack.push((long) in.getInt());
                case 0x8a -> { // LONG1
                    int n = in.get() & 0xff;
                    long v = 0;
                    for (int i = 0; i < n; i++) v |= (long) (in.get() & 0xff) << (8 * i);
                    if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) v -= 1L << (8 * n);
                    stack.push(v);
                }
                case 'G' -> {
                    in.order(ByteOrder.BIG_ENDIAN);
                    double v = in.getDouble();
                    in.order(ByteOrder.LITTLE_ENDIAN);
                    stack.push(v);
                }
                case 'X' -> stack.push(utf8(in.getInt()));
                case 0x8c -> stack.push(utf8(in.get() & 0xff));
                case 'U' -> stack.push(utf8(in.get() & 0xff));
                case 'T' -> stack.push(utf8(in.getInt()));
                case 'c' -> {
                    String module = line();
                    stack.push(new Global(module, line()));
                }
                case 0x93 -> { // STACK_GLOBAL
                    String name = (String) stack.pop();
                    stack.push(new Global((String) stack.pop(), name));
                }
                case 'q' -> memo.put(in.get() & 0xff, stack.peek());
                case 'r' -> memo.put(in.getInt(), stack.peek());
                case 0x94 -> memo.put(memo.size(), stack.peek()); // MEMOIZE
                case 'h' -> stack.push(memoGet(in.get() & 0xff));
                case 'j' -> stack.push(memoGet(in.getInt()));
                case 't' -> stack.push(popMark());
                case 0x85 -> stack.push(tuple(stack.pop()));
                case 0x86 -> {
                    Object b = stack.pop(), a = stack.pop();
                    stack.push(tuple(a, b));
                }
                case 0x87 -> {
                    Object c = stack.pop(), b = stack.pop(), a = stack.pop();
                    stack.push(tuple(a, b, c));
                }
                case 's' -> {
                    Object v = stack.pop(), k = stack.pop();
                    ((Map<Object, Object>) stack.peek()).put(k, v);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    Map<Object, Object> m = (Map<Object, Object>) stack.peek();
                    for (int i = 0; i + 1 < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
                }
                case 'a' -> {
                    Object v = stack.pop();
                    ((List<Object>) stack.peek()).add(v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    ((List<Object>) stack.peek()).addAll(items);
                }
                case 'b' -> stack.pop(); // BUILD: object state (e.g. a state dict's _metadata) is not needed
                case 'Q' -> stack.push(persistent(stack.pop()));
                case 'R' -> {
                    Object args = stack.pop();
                    stack.push(reduce(stack.pop(), args));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = stack.pop();
                    stack.push(new Call(stack.pop(), args));
                }
                case '.' -> {
                    return stack.pop();
                }
                default -> throw bad("unsupported pickle opcode 0x" + Integer.toHexString(op));
            }
        }
    }

    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private static List<Object> tuple(Object... xs) {
        return java.util.Arrays.asList(xs);
    }

    private Object memoGet(int i) {
        if (!memo.containsKey(i)) throw bad("memo entry " + i + " missing");
        return memo.get(i);
    }

    private Object persistent(Object pid) {
        if (pid instanceof List<?> t && t.size() >= 5 && "storage".equals(t.get(0)) && t.get(1) instanceof Global g) {
            return new Storage(g.name(), String.valueOf(t.get(2)), ((Number) t.get(4)).longValue());
        }
        throw bad("unsupported persistent id " + pid);
    }

    private Object reduce(Object callable, Object args) {
        List<?> a = args instanceof List<?> l ? l : List.of();
        if (callable instanceof Global g) {
            String f = g.module() + "." + g.name();
            switch (f) {
                case "collections.OrderedDict" -> {
                    return new LinkedHashMap<Object, Object>();
                }
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                    if (!(a.get(0) instanceof Storage s)) throw bad(f + " without a storage");
                    return new Tensor(s, ((Number) a.get(1)).longValue(), longs(a.get(2)), longs(a.get(3)));
                }
                case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                    return a.get(0);
                }
                default -> {
                }
            }
        }
        return new Call(callable, args);
    }

    private long[] longs(Object o) {
        if (!(o instanceof List<?> l)) throw bad("expected a tuple of integers, found " + o);
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) r[i] = ((Number) l.get(i)).longValue();
        return r;
    }
}
