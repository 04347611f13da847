package cgap.tokenizer.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics for template values. Representation: None = null, bool = Boolean, int =
 * Long, float = Double, str = String, list = java.util.List, tuple = {@link Tuple}, dict =
 * java.util.Map, plus {@link Undefined}, {@link Namespace} and {@link Fn} callables.
 */
final class Py {
  private Py() {}

  /** A Python-level exception (TypeError, UndefinedError, ...) not yet tied to a template position. */
  static final class PyError extends RuntimeException {
    final String type;

    PyError(String type, String message) {
      super(message, null, false, false);
      this.type = type;
    }
  }

  static PyError typeError(String msg) {
    return new PyError("TypeError", msg);
  }

  /** Jinja2's default Undefined. */
  static final class Undefined {
    final String hint;

    Undefined(String hint) {
      this.hint = hint;
    }

    PyError fail() {
      return new PyError("UndefinedError", hint);
    }
  }

  record Tuple(List<Object> items) {}

  /** Jinja2's namespace(): attribute assignable from inner scopes via {@code set ns.x = ...}. */
  static final class Namespace {
    final Map<String, Object> attrs = new LinkedHashMap<>();
  }

  /** A callable: global function, macro, bound method. */
  interface Fn {
    Object call(List<Object> args, Map<String, Object> kwargs);
  }

  // ------------------------------------------------------------------ conversion of Java inputs
  static Object fromJava(Object o) {
    if (o == null || o instanceof String || o instanceof Long || o instanceof Double || o instanceof Boolean
        || o instanceof Undefined || o instanceof Namespace || o instanceof Fn || o instanceof Tuple) {
      return o;
    }
    if (o instanceof Integer || o instanceof Short || o instanceof Byte) return ((Number) o).longValue();
    if (o instanceof BigInteger b) return b.longValue();
    if (o instanceof Number n) return n.doubleValue();
    if (o instanceof Character c) return c.toString();
    if (o instanceof CharSequence cs) return cs.toString();
    if (o instanceof com.fasterxml.jackson.databind.JsonNode node) {
      return fromJava(new com.fasterxml.jackson.databind.ObjectMapper().convertValue(node, Object.class));
    }
    if (o instanceof Map<?, ?> m) {
      Map<Object, Object> r = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) r.put(fromJava(e.getKey()), fromJava(e.getValue()));
      return r;
    }
    if (o instanceof Collection<?> c) {
      List<Object> r = new ArrayList<>(c.size());
      for (Object x : c) r.add(fromJava(x));
      return r;
    }
    if (o instanceof Object[] arr) {
      List<Object> r = new ArrayList<>(arr.length);
      for (Object x : arr) r.add(fromJava(x));
      return r;
    }
    return o.toString();
  }

  // ------------------------------------------------------------------ types
  static String typeName(Object o) {
    if (o == null) return "NoneType";
    if (o instanceof Boolean) return "bool";
    if (o instanceof Long) return "int";
    if (o instanceof Double) return "float";
    if (o instanceof String) return "str";
    if (o instanceof List) return "list";
    if (o instanceof Tuple) return "tuple";
    if (o instanceof Map) return "dict";
    if (o instanceof Undefined) return "Undefined";
    if (o instanceof Namespace) return "Namespace";
    if (o instanceof Fn) return "function";
    return o.getClass().getSimpleName();
  }

  static boolean isInt(Object o) {
    return o instanceof Long || o instanceof Boolean;
  }

  static boolean isNum(Object o) {
    return o instanceof Long || o instanceof Boolean || o instanceof Double;
  }

  static long toLong(Object o) {
    if (o instanceof Boolean b) return b ? 1 : 0;
    return (Long) o;
  }

  static double toDouble(Object o) {
    if (o instanceof Double d) return d;
    return toLong(o);
  }

  static List<Object> seq(Object o) {
    if (o instanceof Tuple t) return t.items();
    @SuppressWarnings("unchecked")
    List<Object> l = (List<Object>) o;
    return l;
  }

  static boolean isSeq(Object o) {
    return o instanceof List || o instanceof Tuple;
  }

  // ------------------------------------------------------------------ truthiness, str, repr
  static boolean truthy(Object o) {
    if (o == null || o instanceof Undefined) return false;
    if (o instanceof Boolean b) return b;
    if (o instanceof Long l) return l != 0;
    if (o instanceof Double d) return d != 0.0;
    if (o instanceof String s) return !s.isEmpty();
    if (o instanceof List<?> l) return !l.isEmpty();
    if (o instanceof Tuple t) return !t.items().isEmpty();
    if (o instanceof Map<?, ?> m) return !m.isEmpty();
    return true;
  }

  static String str(Object o) {
    if (o instanceof String s) return s;
    if (o instanceof Undefined) return "";
    return repr(o);
  }

  static String repr(Object o) {
    if (o == null) return "None";
    if (o instanceof Boolean b) return b ? "True" : "False";
    if (o instanceof Long l) return l.toString();
    if (o instanceof Double d) return floatRepr(d);
    if (o instanceof String s) return strRepr(s);
    if (o instanceof Undefined) return "Undefined";
    if (o instanceof Tuple t) {
      StringBuilder sb = new StringBuilder("(");
      List<Object> items = t.items();
      for (int i = 0; i < items.size(); i++) {
        if (i > 0) sb.append(", ");
        sb.append(repr(items.get(i)));
      }
      if (items.size() == 1) sb.append(',');
      return sb.append(')').toString();
    }
    if (o instanceof List<?> l) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) sb.append(", ");
        sb.append(repr(l.get(i)));
      }
      return sb.append(']').toString();
    }
    if (o instanceof Map<?, ?> m) {
      StringBuilder sb = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) sb.append(", ");
        first = false;
        sb.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
      }
      return sb.append('}').toString();
    }
    if (o instanceof Namespace ns) return "<Namespace " + repr(ns.attrs) + ">";
    return o.toString();
  }

  static String floatRepr(double d) {
    if (Double.isNaN(d)) return "nan";
    if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
    String sign = d < 0 ? "-" : "";
    BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = bd.unscaledValue().toString();
    int decpt = digits.length() - bd.scale();
    StringBuilder sb = new StringBuilder(sign);
    if (decpt <= -4 || decpt > 16) {
      sb.append(digits.charAt(0));
      if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
      int exp = decpt - 1;
      sb.append('e').append(exp < 0 ? '-' : '+');
      int a = Math.abs(exp);
      if (a < 10) sb.append('0');
      sb.append(a);
    } else if (decpt <= 0) {
      sb.append("0.").append("0".repeat(-decpt)).append(digits);
    } else if (decpt >= digits.length()) {
      sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
    } else {
      sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
    }
    return sb.toString();
  }

  static boolean isPrintable(int cp) {
    if (cp == ' ') return true;
    int t = Character.getType(cp);
    return !(t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE
        || t == Character.PRIVATE_USE || t == Character.UNASSIGNED || t == Character.LINE_SEPARATOR
        || t == Character.PARAGRAPH_SEPARATOR || t == Character.SPACE_SEPARATOR);
  }

  static String strRepr(String s) {
    char q = (s.indexOf('\'') >= 0 && s.indexOf('"') < 0) ? '"' : '\'';
    StringBuilder sb = new StringBuilder().append(q);
    s.codePoints().forEach(cp -> {
      if (cp == q || cp == '\\') sb.append('\\').appendCodePoint(cp);
      else if (cp == '\t') sb.append("\\t");
      else if (cp == '\n') sb.append("\\n");
      else if (cp == '\r') sb.append("\\r");
      else if (cp < 0x20 || cp == 0x7f) sb.append(String.format("\\x%02x", cp));
      else if (cp < 0x7f || isPrintable(cp)) sb.appendCodePoint(cp);
      else if (cp <= 0xff) sb.append(String.format("\\x%02x", cp));
      else if (cp <= 0xffff) sb.append(String.format("\\u%04x", cp));
      else sb.append(String.format("\\U%08x", cp));
    });
    return sb.append(q).toString();
  }

  // ------------------------------------------------------------------ equality and ordering
  static boolean eq(Object a, Object b) {
    if (a == b) return true;
    if (a == null || b == null) return false;
    if (isNum(a) && isNum(b)) {
      if (isInt(a) && isInt(b)) return toLong(a) == toLong(b);
      return toDouble(a) == toDouble(b);
    }
    if (a instanceof String x && b instanceof String y) return x.equals(y);
    if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
    if ((a instanceof List && b instanceof List) || (a instanceof Tuple && b instanceof Tuple)) {
      List<Object> x = seq(a), y = seq(b);
      if (x.size() != y.size()) return false;
      for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
      return true;
    }
    if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
      if (x.size() != y.size()) return false;
      for (Map.Entry<?, ?> e : x.entrySet()) {
        Object k = findKey(y, e.getKey());
        if (k == NO_KEY || !eq(e.getValue(), y.get(k))) return false;
      }
      return true;
    }
    return a.equals(b);
  }

  static final Object NO_KEY = new Object();

  /** The key object in m equal (Python-wise) to key, or NO_KEY. */
  static Object findKey(Map<?, ?> m, Object key) {
    if (m.containsKey(key)) return key;
    if (key == null || key instanceof String) return NO_KEY;
    for (Object k : m.keySet()) if (!(k instanceof String) && eq(k, key)) return k;
    return NO_KEY;
  }

  static int compare(Object a, Object b, String op) {
    if (a instanceof Undefined u) throw u.fail();
    if (b instanceof Undefined u) throw u.fail();
    if (isNum(a) && isNum(b)) {
      if (isInt(a) && isInt(b)) return Long.compare(toLong(a), toLong(b));
      double x = toDouble(a), y = toDouble(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a instanceof String x && b instanceof String y) {
      int c = x.compareTo(y);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if ((a instanceof List && b instanceof List) || (a instanceof Tuple && b instanceof Tuple)) {
      List<Object> x = seq(a), y = seq(b);
      for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
        if (!eq(x.get(i), y.get(i))) return compare(x.get(i), y.get(i), op);
      }
      return Integer.compare(x.size(), y.size());
    }
    throw typeError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
  }

  static boolean contains(Object container, Object item) {
    if (container instanceof String s) {
      if (!(item instanceof String t)) throw typeError("'in <string>' requires string as left operand, not " + typeName(item));
      return s.contains(t);
    }
    if (isSeq(container)) {
      for (Object x : seq(container)) if (eq(x, item)) return true;
      return false;
    }
    if (container instanceof Map<?, ?> m) return findKey(m, item) != NO_KEY;
    if (container instanceof Undefined) return false;
    throw typeError("argument of type '" + typeName(container) + "' is not iterable");
  }

  // ------------------------------------------------------------------ iteration and length
  static List<Object> iterate(Object o) {
    if (o instanceof List<?> || o instanceof Tuple) return new ArrayList<>(seq(o));
    if (o instanceof String s) {
      List<Object> r = new ArrayList<>();
      s.codePoints().forEach(cp -> r.add(new String(Character.toChars(cp))));
      return r;
    }
    if (o instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
    if (o instanceof Undefined) return new ArrayList<>();
    throw typeError("'" + typeName(o) + "' object is not iterable");
  }

  static long len(Object o) {
    if (o instanceof String s) return s.codePointCount(0, s.length());
    if (isSeq(o)) return seq(o).size();
    if (o instanceof Map<?, ?> m) return m.size();
    if (o instanceof Undefined) return 0;
    throw typeError("object of type '" + typeName(o) + "' has no len()");
  }

  // ------------------------------------------------------------------ arithmetic
  static PyError unsupported(String op, Object a, Object b) {
    return typeError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
  }

  static void checkDefined(Object a, Object b) {
    if (a instanceof Undefined u) throw u.fail();
    if (b instanceof Undefined u) throw u.fail();
  }

  static Object add(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b)) return exact(() -> Math.addExact(toLong(a), toLong(b)));
    if (isNum(a) && isNum(b)) return toDouble(a) + toDouble(b);
    if (a instanceof String x) {
      if (b instanceof String y) return x + y;
      throw typeError("can only concatenate str (not \"" + typeName(b) + "\") to str");
    }
    if (a instanceof List<?> x) {
      if (b instanceof List<?> y) {
        List<Object> r = new ArrayList<>(x);
        r.addAll(y);
        return r;
      }
      throw typeError("can only concatenate list (not \"" + typeName(b) + "\") to list");
    }
    if (a instanceof Tuple x) {
      if (b instanceof Tuple y) {
        List<Object> r = new ArrayList<>(x.items());
        r.addAll(y.items());
        return new Tuple(r);
      }
      throw typeError("can only concatenate tuple (not \"" + typeName(b) + "\") to tuple");
    }
    throw unsupported("+", a, b);
  }

  private static PyError overflow() {
    return new PyError("OverflowError", "integer result exceeds 64 bits (not supported by this engine)");
  }

  private static Object exact(java.util.function.LongSupplier f) {
    try {
      return f.getAsLong();
    } catch (ArithmeticException e) {
      throw overflow();
    }
  }

  static Object sub(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b)) return exact(() -> Math.subtractExact(toLong(a), toLong(b)));
    if (isNum(a) && isNum(b)) return toDouble(a) - toDouble(b);
    throw unsupported("-", a, b);
  }

  static Object mul(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b)) return exact(() -> Math.multiplyExact(toLong(a), toLong(b)));
    if (isNum(a) && isNum(b)) return toDouble(a) * toDouble(b);
    if (isInt(b) && (a instanceof String || isSeq(a))) return repeat(a, toLong(b));
    if (isInt(a) && (b instanceof String || isSeq(b))) return repeat(b, toLong(a));
    throw unsupported("*", a, b);
  }

  private static Object repeat(Object s, long n) {
    if (s instanceof String str) return n <= 0 ? "" : str.repeat((int) n);
    List<Object> r = new ArrayList<>();
    for (long i = 0; i < n; i++) r.addAll(seq(s));
    return s instanceof Tuple ? new Tuple(r) : r;
  }

  static Object div(Object a, Object b) {
    checkDefined(a, b);
    if (isNum(a) && isNum(b)) {
      double y = toDouble(b);
      if (y == 0) throw new PyError("ZeroDivisionError", "division by zero");
      if (isInt(a) && isInt(b)) return new BigDecimal(toLong(a)).divide(new BigDecimal(toLong(b)), java.math.MathContext.DECIMAL128).doubleValue();
      return toDouble(a) / y;
    }
    throw unsupported("/", a, b);
  }

  static Object floordiv(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b)) {
      if (toLong(b) == 0) throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
      return Math.floorDiv(toLong(a), toLong(b));
    }
    if (isNum(a) && isNum(b)) {
      double y = toDouble(b);
      if (y == 0) throw new PyError("ZeroDivisionError", "float floor division by zero");
      double x = toDouble(a);
      double m = x % y;
      double div = (x - m) / y;
      if (m != 0 && ((y < 0) != (m < 0))) div -= 1.0;
      if (div == 0) return Math.copySign(0.0, x / y);
      double fd = Math.floor(div);
      if (div - fd > 0.5) fd += 1.0;
      return fd;
    }
    throw unsupported("//", a, b);
  }

  private static double pyFmod(double x, double y) {
    double m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return m;
  }

  static Object mod(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b)) {
      if (toLong(b) == 0) throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
      return Math.floorMod(toLong(a), toLong(b));
    }
    if (isNum(a) && isNum(b)) {
      double y = toDouble(b);
      if (y == 0) throw new PyError("ZeroDivisionError", "float modulo");
      return pyFmod(toDouble(a), y);
    }
    if (a instanceof String fmt) return percentFormat(fmt, b);
    throw unsupported("%", a, b);
  }

  static Object pow(Object a, Object b) {
    checkDefined(a, b);
    if (isInt(a) && isInt(b) && toLong(b) >= 0) {
      BigInteger r = BigInteger.valueOf(toLong(a)).pow((int) Math.min(toLong(b), 100000));
      if (r.bitLength() > 63) throw overflow();
      return r.longValue();
    }
    if (isNum(a) && isNum(b)) return Math.pow(toDouble(a), toDouble(b));
    throw unsupported("** or pow()", a, b);
  }

  static Object neg(Object a) {
    if (a instanceof Undefined u) throw u.fail();
    if (isInt(a)) return -toLong(a);
    if (a instanceof Double d) return -d;
    throw typeError("bad operand type for unary -: '" + typeName(a) + "'");
  }

  static Object pos(Object a) {
    if (a instanceof Undefined u) throw u.fail();
    if (isInt(a)) return toLong(a);
    if (a instanceof Double d) return d;
    throw typeError("bad operand type for unary +: '" + typeName(a) + "'");
  }

  /** printf-style {@code str % args} for the common conversions. */
  static String percentFormat(String fmt, Object args) {
    List<Object> list = args instanceof Tuple t ? t.items() : List.of(args == null ? NONE_ARG : args);
    StringBuilder sb = new StringBuilder();
    int ai = 0;
    for (int i = 0; i < fmt.length(); i++) {
      char c = fmt.charAt(i);
      if (c != '%') {
        sb.append(c);
        continue;
      }
      i++;
      if (i >= fmt.length()) throw new PyError("ValueError", "incomplete format");
      String key = null;
      if (fmt.charAt(i) == '(') {
        int e = fmt.indexOf(')', i);
        key = fmt.substring(i + 1, e);
        i = e + 1;
      }
      int specStart = i;
      while (i < fmt.length() && "-+ #0123456789.".indexOf(fmt.charAt(i)) >= 0) i++;
      String spec = fmt.substring(specStart, i);
      char conv = fmt.charAt(i);
      if (conv == '%') {
        sb.append('%');
        continue;
      }
      Object v;
      if (key != null) {
        v = ((Map<?, ?>) args).get(key);
      } else {
        if (ai >= list.size()) throw typeError("not enough arguments for format string");
        v = list.get(ai++);
        if (v == NONE_ARG) v = null;
      }
      String s = switch (conv) {
        case 's' -> str(v);
        case 'r', 'a' -> repr(v);
        case 'd', 'i' -> Long.toString(isInt(v) ? toLong(v) : (long) toDouble(v));
        case 'f', 'F' -> String.format("%" + (spec.contains(".") ? spec : spec + ".6") + "f", toDouble(v));
        case 'x' -> Long.toHexString(toLong(v));
        case 'X' -> Long.toHexString(toLong(v)).toUpperCase();
        default -> throw new PyError("ValueError", "unsupported format character '" + conv + "'");
      };
      if (conv != 'f' && conv != 'F' && !spec.isEmpty()) {
        boolean left = spec.startsWith("-");
        String w = spec.replace("-", "").replace("0", "");
        int width = w.isEmpty() ? 0 : Integer.parseInt(w.split("\\.")[0]);
        while (s.length() < width) s = left ? s + " " : " " + s;
      }
      sb.append(s);
    }
    if (key0(args) && ai < list.size()) throw typeError("not all arguments converted during string formatting");
    return sb.toString();
  }

  private static final Object NONE_ARG = new Object();

  private static boolean key0(Object args) {
    return !(args instanceof Map);
  }

  // ------------------------------------------------------------------ JSON (Python json.dumps)
  static String json(Object o, Object indent, String itemSep, String keySep, boolean sortKeys, boolean ensureAscii) {
    String ind = null;
    if (indent != null) {
      if (indent instanceof String s) ind = s;
      else ind = " ".repeat((int) Math.max(0, toLong(indent)));
    }
    if (itemSep == null) itemSep = ind != null ? "," : ", ";
    if (keySep == null) keySep = ": ";
    StringBuilder sb = new StringBuilder();
    writeJson(sb, o, ind, itemSep, keySep, sortKeys, ensureAscii, 0);
    return sb.toString();
  }

  private static void newline(StringBuilder sb, String ind, int level) {
    if (ind == null) return;
    sb.append('\n');
    for (int i = 0; i < level; i++) sb.append(ind);
  }

  private static void writeJson(StringBuilder sb, Object o, String ind, String itemSep, String keySep, boolean sortKeys, boolean ascii, int level) {
    if (o == null) sb.append("null");
    else if (o instanceof Boolean b) sb.append(b ? "true" : "false");
    else if (o instanceof Long l) sb.append(l);
    else if (o instanceof Double d) {
      if (Double.isNaN(d)) sb.append("NaN");
      else if (Double.isInfinite(d)) sb.append(d > 0 ? "Infinity" : "-Infinity");
      else sb.append(floatRepr(d));
    } else if (o instanceof String s) jsonString(sb, s, ascii);
    else if (isSeq(o)) {
      List<Object> l = seq(o);
      if (l.isEmpty()) {
        sb.append("[]");
        return;
      }
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) sb.append(itemSep);
        newline(sb, ind, level + 1);
        writeJson(sb, l.get(i), ind, itemSep, keySep, sortKeys, ascii, level + 1);
      }
      newline(sb, ind, level);
      sb.append(']');
    } else if (o instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        sb.append("{}");
        return;
      }
      List<Map.Entry<String, Object>> entries = new ArrayList<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        Object k = e.getKey();
        String ks;
        if (k instanceof String s) ks = s;
        else if (k == null) ks = "null";
        else if (k instanceof Boolean b) ks = b ? "true" : "false";
        else if (k instanceof Long || k instanceof Double) {
          StringBuilder t = new StringBuilder();
          writeJson(t, k, null, itemSep, keySep, false, ascii, 0);
          ks = t.toString();
        } else throw typeError("keys must be str, int, float, bool or None, not " + typeName(k));
        entries.add(Map.entry(ks, e.getValue() == null ? NULL_MARK : e.getValue()));
      }
      if (sortKeys) entries.sort(Map.Entry.comparingByKey());
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, Object> e : entries) {
        if (!first) sb.append(itemSep);
        first = false;
        newline(sb, ind, level + 1);
        jsonString(sb, e.getKey(), ascii);
        sb.append(keySep);
        writeJson(sb, e.getValue() == NULL_MARK ? null : e.getValue(), ind, itemSep, keySep, sortKeys, ascii, level + 1);
      }
      newline(sb, ind, level);
      sb.append('}');
    } else {
      throw typeError("Object of type " + typeName(o) + " is not JSON serializable");
    }
  }

  private static final Object NULL_MARK = new Object();

  private static void jsonString(StringBuilder sb, String s, boolean ascii) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20 || (ascii && c > 0x7e)) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    sb.append('"');
  }
}
