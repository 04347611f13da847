package cgap.tokenizer.template;

import cgap.tokenizer.template.Py.Fn;
import cgap.tokenizer.template.Py.Namespace;
import cgap.tokenizer.template.Py.PyError;
import cgap.tokenizer.template.Py.Tuple;
import cgap.tokenizer.template.Py.Undefined;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Attribute/item access, filters, tests and the str/dict/list methods templates call. */
final class Builtins {
  private Builtins() {}

  static final Set<String> DICT_METHODS = Set.of("clear", "copy", "fromkeys", "get", "items", "keys", "pop",
      "popitem", "setdefault", "update", "values");
  static final Set<String> LIST_METHODS = Set.of("append", "clear", "copy", "count", "extend", "index", "insert",
      "pop", "remove", "reverse", "sort");
  static final Set<String> STR_METHODS = Set.of("capitalize", "casefold", "center", "count", "encode", "endswith",
      "expandtabs", "find", "format", "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
      "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
      "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
      "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "translate",
      "upper", "zfill");
  static final Set<String> UNSAFE_MUTATORS = Set.of("append", "clear", "extend", "insert", "pop", "remove", "reverse",
      "sort", "popitem", "setdefault", "update");

  // ------------------------------------------------------------------ attribute / item access
  static Object getattr(Interp in, Object obj, String name) {
    if (obj instanceof Undefined u) throw u.fail();
    if (name.startsWith("_")) return new Undefined("access to attribute '" + name + "' is unsafe");
    if (obj instanceof Map<?, ?> m) {
      if (DICT_METHODS.contains(name)) return bound(obj, name);
      Object k = Py.findKey(m, name);
      if (k != Py.NO_KEY) return m.get(k);
      return new Undefined("'dict object' has no attribute '" + name + "'");
    }
    if (obj instanceof String && STR_METHODS.contains(name)) return bound(obj, name);
    if (obj instanceof List && LIST_METHODS.contains(name)) return bound(obj, name);
    if (obj instanceof Tuple && (name.equals("count") || name.equals("index"))) return bound(obj, name);
    if (obj instanceof Namespace ns) {
      if (ns.attrs.containsKey(name)) return ns.attrs.get(name);
      return new Undefined("'Namespace' object has no attribute '" + name + "'");
    }
    if (obj instanceof Interp.LoopCtx l) return l.attr(name);
    if (Py.isNum(obj)) {
      if (name.equals("real")) return obj instanceof Boolean ? Py.toLong(obj) : obj;
      if (name.equals("imag")) return obj instanceof Double ? (Object) 0.0 : (Object) 0L;
    }
    return new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
  }

  static Object getitem(Interp in, Object obj, Object key) {
    if (obj instanceof Undefined u) throw u.fail();
    if (obj instanceof Map<?, ?> m) {
      Object k = Py.findKey(m, key);
      if (k != Py.NO_KEY) return m.get(k);
      if (key instanceof String s) return getattr(in, obj, s);
      return new Undefined("'dict object' has no attribute " + Py.repr(key));
    }
    if ((Py.isSeq(obj) || obj instanceof String) && Py.isInt(key)) {
      long i = Py.toLong(key);
      if (obj instanceof String s) {
        int[] cps = s.codePoints().toArray();
        if (i < 0) i += cps.length;
        if (i < 0 || i >= cps.length) return new Undefined("'str object' has no element " + key);
        return new String(cps, (int) i, 1);
      }
      List<Object> l = Py.seq(obj);
      if (i < 0) i += l.size();
      if (i < 0 || i >= l.size()) return new Undefined("'" + Py.typeName(obj) + " object' has no element " + key);
      return l.get((int) i);
    }
    if (key instanceof String s) return getattr(in, obj, s);
    return new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key));
  }

  static Object slice(Object obj, Object start, Object stop, Object step) {
    List<Object> items;
    boolean isStr = obj instanceof String;
    if (isStr) {
      items = Py.iterate(obj);
    } else if (Py.isSeq(obj)) {
      items = Py.seq(obj);
    } else {
      throw Py.typeError("'" + Py.typeName(obj) + "' object is not subscriptable");
    }
    int n = items.size();
    long st = step == null ? 1 : idx(step);
    if (st == 0) throw new PyError("ValueError", "slice step cannot be zero");
    long lo, hi;
    if (st > 0) {
      lo = start == null ? 0 : clamp(idx(start), n, 0, n);
      hi = stop == null ? n : clamp(idx(stop), n, 0, n);
    } else {
      lo = start == null ? n - 1 : clamp(idx(start), n, -1, n - 1);
      hi = stop == null ? -1 : clamp(idx(stop), n, -1, n - 1);
    }
    List<Object> r = new ArrayList<>();
    if (st > 0) for (long i = lo; i < hi; i += st) r.add(items.get((int) i));
    else for (long i = lo; i > hi; i += st) r.add(items.get((int) i));
    if (isStr) {
      StringBuilder sb = new StringBuilder();
      for (Object o : r) sb.append((String) o);
      return sb.toString();
    }
    return obj instanceof Tuple ? new Tuple(r) : r;
  }

  private static long idx(Object o) {
    if (Py.isInt(o)) return Py.toLong(o);
    throw Py.typeError("slice indices must be integers or None or have an __index__ method");
  }

  private static long clamp(long i, int n, long lo, long hi) {
    if (i < 0) i += n;
    return Math.max(lo, Math.min(hi, i));
  }

  // ------------------------------------------------------------------ arguments
  private record A(List<Object> pos, Map<String, Object> kw) {
    Object get(int i, String name, Object def) {
      if (i < pos.size()) return pos.get(i);
      if (kw.containsKey(name)) return kw.get(name);
      return def;
    }

    boolean has(int i, String name) {
      return i < pos.size() || kw.containsKey(name);
    }
  }

  private static String s(Object o) {
    return Py.str(o);
  }

  // ------------------------------------------------------------------ methods
  private static Fn bound(Object self, String name) {
    return (args, kw) -> callMethod(self, name, new A(args, kw));
  }

  private static Object callMethod(Object self, String name, A a) {
    if (UNSAFE_MUTATORS.contains(name) && !(self instanceof String)) {
      throw new PyError("SecurityError", "access to attribute '" + name + "' of '" + Py.typeName(self) + "' object is unsafe.");
    }
    if (self instanceof Map<?, ?> m) {
      switch (name) {
        case "get": {
          Object k = Py.findKey(m, a.get(0, "key", null));
          return k == Py.NO_KEY ? a.get(1, "default", null) : m.get(k);
        }
        case "items": {
          List<Object> r = new ArrayList<>();
          for (Map.Entry<?, ?> e : m.entrySet()) r.add(new Tuple(List.of(nullable(e.getKey()), nullable(e.getValue()))));
          return unwrapNulls(r);
        }
        case "keys":
          return new ArrayList<Object>(m.keySet());
        case "values":
          return new ArrayList<Object>(m.values());
        case "copy":
          return new LinkedHashMap<Object, Object>(m);
        default:
          throw Py.typeError("dict." + name + " is not supported");
      }
    }
    if (self instanceof List || self instanceof Tuple) {
      List<Object> l = Py.seq(self);
      switch (name) {
        case "count": {
          long c = 0;
          for (Object o : l) if (Py.eq(o, a.get(0, "value", null))) c++;
          return c;
        }
        case "index": {
          for (int i = 0; i < l.size(); i++) if (Py.eq(l.get(i), a.get(0, "value", null))) return (long) i;
          throw new PyError("ValueError", Py.repr(a.get(0, "value", null)) + " is not in list");
        }
        case "copy":
          return new ArrayList<>(l);
        default:
          throw Py.typeError("list." + name + " is not supported");
      }
    }
    return StrMethods.call((String) self, name, a.pos(), a.kw());
  }

  private static final Object NULL = new Object();

  private static Object nullable(Object o) {
    return o == null ? NULL : o;
  }

  private static List<Object> unwrapNulls(List<Object> tuples) {
    List<Object> r = new ArrayList<>();
    for (Object t : tuples) {
      List<Object> items = new ArrayList<>(((Tuple) t).items());
      items.replaceAll(x -> x == NULL ? null : x);
      r.add(new Tuple(items));
    }
    return r;
  }

  // ------------------------------------------------------------------ filters
  static Object filter(Interp in, String name, Object v, List<Object> args, Map<String, Object> kw) {
    A a = new A(args, kw);
    switch (name) {
      case "trim":
        return StrMethods.strip(s(v), a.get(0, "chars", null), true, true);
      case "upper":
        return s(v).toUpperCase(java.util.Locale.ROOT);
      case "lower":
        return s(v).toLowerCase(java.util.Locale.ROOT);
      case "capitalize":
        return StrMethods.call(s(v), "capitalize", List.of(), Map.of());
      case "title":
        return title(s(v));
      case "length":
      case "count":
        return Py.len(v);
      case "string":
        return s(v);
      case "safe":
        return v instanceof String ? v : s(v);
      case "escape":
      case "e":
      case "forceescape":
        return escape(s(v));
      case "first": {
        List<Object> l = Py.iterate(v);
        return l.isEmpty() ? new Undefined("No first item, sequence was empty.") : l.get(0);
      }
      case "last": {
        if (v instanceof Undefined) throw Py.typeError("'Undefined' object is not reversible");
        List<Object> l = Py.iterate(v);
        return l.isEmpty() ? new Undefined("No last item, sequence was empty.") : l.get(l.size() - 1);
      }
      case "join": {
        String sep = s(a.get(0, "d", ""));
        Object attr = a.get(1, "attribute", null);
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object o : Py.iterate(v)) {
          if (!first) sb.append(sep);
          first = false;
          sb.append(s(attr == null ? o : attrPath(in, o, attr)));
        }
        return sb.toString();
      }
      case "replace": {
        Object count = a.get(2, "count", null);
        return StrMethods.replace(s(v), s(a.get(0, "old", "")), s(a.get(1, "new", "")), count == null ? -1 : Py.toLong(count));
      }
      case "default":
      case "d": {
        boolean bool = Py.truthy(a.get(1, "boolean", false));
        if (v instanceof Undefined || (bool && !Py.truthy(v))) return a.get(0, "default_value", "");
        return v;
      }
      case "tojson": {
        Object sep = a.get(2, "separators", null);
        String itemSep = null, keySep = null;
        if (sep != null) {
          List<Object> l = Py.iterate(sep);
          itemSep = s(l.get(0));
          keySep = s(l.get(1));
        }
        return Py.json(v, a.get(1, "indent", null), itemSep, keySep, Py.truthy(a.get(3, "sort_keys", false)),
            Py.truthy(a.get(0, "ensure_ascii", false)));
      }
      case "int":
        return toInt(v, a.get(0, "default", 0L), a.get(1, "base", 10L));
      case "float":
        return toFloat(v, a.get(0, "default", 0.0));
      case "list":
        return Py.iterate(v);
      case "items": {
        if (v instanceof Undefined) return new ArrayList<>();
        if (!(v instanceof Map)) throw Py.typeError("Can only get item pairs from a mapping.");
        return callMethod(v, "items", new A(List.of(), Map.of()));
      }
      case "dictsort": {
        if (!(v instanceof Map)) throw Py.typeError("You can only sort by either \"key\" or \"value\"");
        @SuppressWarnings("unchecked")
        List<Object> items = (List<Object>) callMethod(v, "items", new A(List.of(), Map.of()));
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        int pos = "value".equals(a.get(1, "by", "key")) ? 1 : 0;
        Comparator<Object> cmp = (x, y) -> Py.compare(sortKey(((Tuple) x).items().get(pos), cs), sortKey(((Tuple) y).items().get(pos), cs), "<");
        if (Py.truthy(a.get(2, "reverse", false))) cmp = cmp.reversed();
        items.sort(cmp);
        return items;
      }
      case "selectattr":
      case "rejectattr":
      case "select":
      case "reject": {
        boolean attrMode = name.endsWith("attr");
        boolean select = name.startsWith("select");
        List<Object> r = new ArrayList<>();
        Object attr = attrMode ? args.get(0) : null;
        int ti = attrMode ? 1 : 0;
        String testName = args.size() > ti ? s(args.get(ti)) : null;
        List<Object> testArgs = args.size() > ti + 1 ? args.subList(ti + 1, args.size()) : List.of();
        for (Object item : Py.iterate(v)) {
          Object x = attrMode ? attrPath(in, item, attr) : item;
          boolean ok = testName == null ? Py.truthy(x) : Py.truthy(test(in, testName, x, testArgs, kw));
          if (ok == select) r.add(item);
        }
        return r;
      }
      case "map": {
        List<Object> r = new ArrayList<>();
        if (args.isEmpty() && kw.containsKey("attribute")) {
          Object attr = kw.get("attribute");
          boolean hasDefault = kw.containsKey("default");
          for (Object item : Py.iterate(v)) {
            Object x = attrPath(in, item, attr);
            if (hasDefault && x instanceof Undefined) x = kw.get("default");
            r.add(x);
          }
          return r;
        }
        if (args.isEmpty()) throw new PyError("FilterArgumentError", "map requires a filter argument");
        String f = s(args.get(0));
        List<Object> rest = args.subList(1, args.size());
        for (Object item : Py.iterate(v)) r.add(filter(in, f, item, new ArrayList<>(rest), kw));
        return r;
      }
      case "unique": {
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        Object attr = a.get(1, "attribute", null);
        List<Object> seen = new ArrayList<>();
        List<Object> r = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
          Object key = sortKey(attr == null ? item : attrPath(in, item, attr), cs);
          boolean dup = false;
          for (Object k : seen) if (Py.eq(k, key)) dup = true;
          if (!dup) {
            seen.add(key);
            r.add(item);
          }
        }
        return r;
      }
      case "sort": {
        boolean rev = Py.truthy(a.get(0, "reverse", false));
        boolean cs = Py.truthy(a.get(1, "case_sensitive", false));
        Object attr = a.get(2, "attribute", null);
        List<Object> l = Py.iterate(v);
        List<String> attrs = attr == null ? null : List.of(s(attr).split(","));
        Comparator<Object> cmp = (x, y) -> {
          if (attrs == null) return Py.compare(sortKey(x, cs), sortKey(y, cs), "<");
          for (String at : attrs) {
            int c = Py.compare(sortKey(attrPath(in, x, at.strip()), cs), sortKey(attrPath(in, y, at.strip()), cs), "<");
            if (c != 0) return c;
          }
          return 0;
        };
        l.sort(rev ? cmp.reversed() : cmp);
        return l;
      }
      case "reverse": {
        if (v instanceof String str) return new StringBuilder(str).reverse().toString();
        List<Object> l = Py.iterate(v);
        java.util.Collections.reverse(l);
        return l;
      }
      case "indent":
        return indent(s(v), a.get(0, "width", 4L), Py.truthy(a.get(1, "first", false)), Py.truthy(a.get(2, "blank", false)));
      case "wordcount": {
        Matcher m = WORD.matcher(s(v));
        long c = 0;
        while (m.find()) c++;
        return c;
      }
      case "center":
        return StrMethods.call(s(v), "center", List.of(a.get(0, "width", 80L)), Map.of());
      case "abs":
        if (v instanceof Double d) return Math.abs(d);
        return Math.abs(Py.toLong(v));
      case "round":
        return round(v, Py.toLong(a.get(0, "precision", 0L)), s(a.get(1, "method", "common")));
      case "sum": {
        Object attr = a.get(0, "attribute", null);
        Object total = a.get(1, "start", 0L);
        for (Object item : Py.iterate(v)) total = Py.add(total, attr == null ? item : attrPath(in, item, attr));
        return total;
      }
      case "min":
      case "max": {
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        Object attr = a.get(1, "attribute", null);
        List<Object> l = Py.iterate(v);
        if (l.isEmpty()) return new Undefined("No aggregated item, sequence was empty.");
        Object best = l.get(0);
        for (Object item : l.subList(1, l.size())) {
          Object kb = sortKey(attr == null ? best : attrPath(in, best, attr), cs);
          Object ki = sortKey(attr == null ? item : attrPath(in, item, attr), cs);
          int c = Py.compare(ki, kb, "<");
          if (name.equals("min") ? c < 0 : c > 0) best = item;
        }
        return best;
      }
      case "batch": {
        long n = Py.toLong(a.get(0, "linecount", 1L));
        boolean fill = a.has(1, "fill_with");
        Object fillWith = a.get(1, "fill_with", null);
        List<Object> r = new ArrayList<>();
        List<Object> cur = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
          if (cur.size() == n) {
            r.add(cur);
            cur = new ArrayList<>();
          }
          cur.add(item);
        }
        if (!cur.isEmpty()) {
          if (fill) while (cur.size() < n) cur.add(fillWith);
          r.add(cur);
        }
        return r;
      }
      case "attr":
        return getattr(in, v, s(args.get(0)));
      case "format":
        if (!kw.isEmpty()) return Py.percentFormat(s(v), new LinkedHashMap<Object, Object>(kw));
        return Py.percentFormat(s(v), new Tuple(new ArrayList<>(args)));
      case "truncate": {
        String str = s(v);
        long length = Py.toLong(a.get(0, "length", 255L));
        boolean killwords = Py.truthy(a.get(1, "killwords", false));
        String end = s(a.get(2, "end", "..."));
        long leeway = Py.toLong(a.get(3, "leeway", 0L));
        if (str.length() <= length + leeway) return str;
        if (killwords) return str.substring(0, (int) (length - end.length())) + end;
        String cut = str.substring(0, (int) (length - end.length()));
        int sp = cut.lastIndexOf(' ');
        return (sp >= 0 ? cut.substring(0, sp) : cut) + end;
      }
      default:
        throw new PyError("TemplateAssertionError", "No filter named '" + name + "'.");
    }
  }

  private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
  private static final Pattern TITLE_SPLIT = Pattern.compile("([-\\s({\\[<]+)", Pattern.UNICODE_CHARACTER_CLASS);

  static Object attrPath(Interp in, Object item, Object attr) {
    if (Py.isInt(attr)) return getitem(in, item, attr);
    Object cur = item;
    for (String part : s(attr).split("\\.")) {
      Object key = part;
      if (!part.isEmpty() && part.chars().allMatch(Character::isDigit)) key = Long.parseLong(part);
      cur = getitem(in, cur, key);
    }
    return cur;
  }

  private static Object sortKey(Object o, boolean caseSensitive) {
    if (!caseSensitive && o instanceof String str) return str.toLowerCase(java.util.Locale.ROOT);
    return o;
  }

  static String escape(String str) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < str.length(); i++) {
      char c = str.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&#34;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  private static String title(String str) {
    StringBuilder sb = new StringBuilder();
    Matcher m = TITLE_SPLIT.matcher(str);
    int last = 0;
    List<String> parts = new ArrayList<>();
    while (m.find()) {
      parts.add(str.substring(last, m.start()));
      parts.add(m.group());
      last = m.end();
    }
    parts.add(str.substring(last));
    for (String item : parts) {
      if (item.isEmpty()) continue;
      int cp = item.codePointAt(0);
      int w = Character.charCount(cp);
      sb.append(new String(Character.toChars(cp)).toUpperCase(java.util.Locale.ROOT));
      sb.append(item.substring(w).toLowerCase(java.util.Locale.ROOT));
    }
    return sb.toString();
  }

  private static String indent(String str, Object width, boolean first, boolean blank) {
    String ind = width instanceof String w ? w : " ".repeat((int) Py.toLong(width));
    str = str + "\n";
    List<String> lines = StrMethods.splitlines(str, false);
    String rv;
    if (blank) {
      rv = String.join("\n" + ind, lines);
    } else {
      StringBuilder sb = new StringBuilder(lines.get(0));
      if (lines.size() > 1) {
        sb.append('\n');
        for (int i = 1; i < lines.size(); i++) {
          if (i > 1) sb.append('\n');
          String l = lines.get(i);
          sb.append(l.isEmpty() ? l : ind + l);
        }
      }
      rv = sb.toString();
    }
    return first ? ind + rv : rv;
  }

  private static Object toInt(Object v, Object def, Object base) {
    if (v instanceof Undefined u) throw u.fail();
    try {
      if (v instanceof String str) {
        String t = str.strip().replace("_", "");
        int b = (int) Py.toLong(base);
        boolean negative = t.startsWith("-");
        if (t.startsWith("+") || t.startsWith("-")) t = t.substring(1);
        String lower = t.toLowerCase(java.util.Locale.ROOT);
        int prefixBase = lower.startsWith("0x") ? 16 : lower.startsWith("0o") ? 8 : lower.startsWith("0b") ? 2 : 0;
        if (prefixBase != 0 && (b == 0 || b == prefixBase)) {
          t = t.substring(2);
          b = prefixBase;
        } else if (b == 0) {
          b = 10;
        }
        if (t.startsWith("+") || t.startsWith("-")) throw new NumberFormatException();
        long r = Long.parseLong(t, b);
        return negative ? -r : r;
      }
      if (Py.isInt(v)) return Py.toLong(v);
      if (v instanceof Double d) {
        if (d.isNaN() || d.isInfinite()) return def;
        return (long) d.doubleValue();
      }
    } catch (NumberFormatException e) {
      // fall through to int(float(value))
    }
    Object f = toFloat(v, null);
    if (f instanceof Double d && !d.isNaN() && !d.isInfinite()) return (long) d.doubleValue();
    return def;
  }

  private static Object toFloat(Object v, Object def) {
    if (v instanceof Undefined u) throw u.fail();
    if (Py.isNum(v)) return Py.toDouble(v);
    if (v instanceof String str) {
      String t = str.strip().replace("_", "").toLowerCase(java.util.Locale.ROOT);
      switch (t) {
        case "inf", "+inf", "infinity", "+infinity" -> {
          return Double.POSITIVE_INFINITY;
        }
        case "-inf", "-infinity" -> {
          return Double.NEGATIVE_INFINITY;
        }
        case "nan", "+nan", "-nan" -> {
          return Double.NaN;
        }
        default -> {}
      }
      if (t.matches("[+-]?(\\d+\\.?\\d*([e][+-]?\\d+)?|\\.\\d+([e][+-]?\\d+)?)")) return Double.parseDouble(t);
    }
    return def;
  }

  private static Object round(Object v, long precision, String method) {
    if (v instanceof Undefined u) throw u.fail();
    if (method.equals("common")) {
      if (Py.isInt(v)) {
        if (precision >= 0) return Py.toLong(v);
        return new BigDecimal(Py.toLong(v)).setScale((int) precision, RoundingMode.HALF_EVEN).longValue();
      }
      double d = Py.toDouble(v);
      if (Double.isNaN(d) || Double.isInfinite(d)) return d;
      return new BigDecimal(d).setScale((int) precision, RoundingMode.HALF_EVEN).doubleValue();
    }
    double d = Py.toDouble(v);
    double f = Math.pow(10, precision);
    if (method.equals("ceil")) return Math.ceil(d * f) / f;
    if (method.equals("floor")) return Math.floor(d * f) / f;
    throw Py.typeError("method must be common, ceil or floor");
  }

  // ------------------------------------------------------------------ tests
  static Object test(Interp in, String name, Object v, List<Object> args, Map<String, Object> kw) {
    A a = new A(args, kw);
    switch (name) {
      case "defined":
        return !(v instanceof Undefined);
      case "undefined":
        return v instanceof Undefined;
      case "none":
        return v == null;
      case "boolean":
        return v instanceof Boolean;
      case "true":
        return Boolean.TRUE.equals(v);
      case "false":
        return Boolean.FALSE.equals(v);
      case "integer":
        return v instanceof Long;
      case "float":
        return v instanceof Double;
      case "number":
        return Py.isNum(v);
      case "string":
        return v instanceof String;
      case "mapping":
        return v instanceof Map;
      case "sequence":
        return v instanceof String || Py.isSeq(v) || v instanceof Map || v instanceof Undefined;
      case "iterable":
        return v instanceof String || Py.isSeq(v) || v instanceof Map || v instanceof Undefined;
      case "callable":
        return v instanceof Fn || v instanceof Undefined;
      case "sameas":
        return v == a.get(0, "other", null) || (v != null && Py.isNum(v) && v.equals(a.get(0, "other", null)));
      case "escaped":
        return false;
      case "odd":
        return Math.floorMod(Py.toLong(v), 2L) == 1;
      case "even":
        return Math.floorMod(Py.toLong(v), 2L) == 0;
      case "divisibleby":
        return Py.eq(Py.mod(v, a.get(0, "num", 1L)), 0L);
      case "eq":
      case "equalto":
      case "==":
        return Py.eq(v, a.get(0, "other", null));
      case "ne":
      case "!=":
        return !Py.eq(v, a.get(0, "other", null));
      case "lt":
      case "lessthan":
      case "<":
        return Py.compare(v, a.get(0, "other", null), "<") < 0;
      case "le":
      case "<=":
        return Py.compare(v, a.get(0, "other", null), "<=") <= 0;
      case "gt":
      case "greaterthan":
      case ">":
        return Py.compare(v, a.get(0, "other", null), ">") > 0;
      case "ge":
      case ">=":
        return Py.compare(v, a.get(0, "other", null), ">=") >= 0;
      case "in":
        return Py.contains(a.get(0, "seq", null), v);
      case "lower":
        return StrMethods.call(s(v), "islower", List.of(), Map.of());
      case "upper":
        return StrMethods.call(s(v), "isupper", List.of(), Map.of());
      case "filter":
        return FILTER_NAMES.contains(s(v));
      case "test":
        return TEST_NAMES.contains(s(v));
      default:
        throw new PyError("TemplateAssertionError", "No test named '" + name + "'.");
    }
  }

  static final Set<String> FILTER_NAMES = Set.of("trim", "upper", "lower", "capitalize", "title", "length", "count",
      "string", "safe", "escape", "e", "forceescape", "first", "last", "join", "replace", "default", "d", "tojson",
      "int", "float", "list", "items", "dictsort", "selectattr", "rejectattr", "select", "reject", "map", "unique",
      "sort", "reverse", "indent", "wordcount", "center", "abs", "round", "sum", "min", "max", "batch", "attr",
      "format", "truncate");
  static final Set<String> TEST_NAMES = Set.of("defined", "undefined", "none", "boolean", "true", "false", "integer",
      "float", "number", "string", "mapping", "sequence", "iterable", "callable", "sameas", "escaped", "odd", "even",
      "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">",
      "ge", ">=", "in", "lower", "upper", "filter", "test");
}
