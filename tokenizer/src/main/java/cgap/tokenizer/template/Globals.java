package cgap.tokenizer.template;

import cgap.tokenizer.template.Py.Fn;
import cgap.tokenizer.template.Py.Namespace;
import cgap.tokenizer.template.Py.PyError;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The global functions of the environment: range, dict, namespace, raise_exception, strftime_now. */
final class Globals {
  private Globals() {}

  static final long MAX_RANGE = 100000;

  static Map<String, Object> create(LocalDateTime fixedNow) {
    Map<String, Object> g = new HashMap<>();
    g.put("range", (Fn) Globals::range);
    g.put("dict", (Fn) (args, kw) -> {
      Map<Object, Object> m = new LinkedHashMap<>();
      if (!args.isEmpty()) {
        Object a = args.get(0);
        if (a instanceof Map<?, ?> src) m.putAll(src);
        else for (Object pair : Py.iterate(a)) {
          List<Object> kv = Py.iterate(pair);
          m.put(kv.get(0), kv.get(1));
        }
      }
      m.putAll(kw);
      return m;
    });
    g.put("namespace", (Fn) (args, kw) -> {
      Namespace ns = new Namespace();
      if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> src) {
        for (Map.Entry<?, ?> e : src.entrySet()) ns.attrs.put(Py.str(e.getKey()), e.getValue());
      }
      ns.attrs.putAll(kw);
      return ns;
    });
    g.put("raise_exception", (Fn) (args, kw) -> {
      Object msg = args.isEmpty() ? kw.get("message") : args.get(0);
      throw new PyError("TemplateError", Py.str(msg));
    });
    g.put("strftime_now", (Fn) (args, kw) -> {
      Object fmt = args.isEmpty() ? kw.get("format") : args.get(0);
      if (!(fmt instanceof String f)) throw Py.typeError("strftime() argument 1 must be str, not " + Py.typeName(fmt));
      return strftime(f, fixedNow != null ? fixedNow : LocalDateTime.now());
    });
    return g;
  }

  private static Object range(List<Object> args, Map<String, Object> kw) {
    long start = 0, stop, step = 1;
    for (Object a : args) {
      if (!Py.isInt(a)) throw Py.typeError("'" + Py.typeName(a) + "' object cannot be interpreted as an integer");
    }
    if (args.size() == 1) {
      stop = Py.toLong(args.get(0));
    } else if (args.size() >= 2) {
      start = Py.toLong(args.get(0));
      stop = Py.toLong(args.get(1));
      if (args.size() > 2) step = Py.toLong(args.get(2));
    } else {
      throw Py.typeError("range expected at least 1 argument, got 0");
    }
    if (step == 0) throw new PyError("ValueError", "range() arg 3 must not be zero");
    List<Object> r = new ArrayList<>();
    for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (r.size() >= MAX_RANGE) throw new PyError("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      r.add(i);
    }
    return r;
  }

  /** Python's time.strftime under the C locale (glibc), including the {@code %-d} style flags. */
  static String strftime(String fmt, LocalDateTime t) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < fmt.length(); i++) {
      char c = fmt.charAt(i);
      if (c != '%' || i + 1 >= fmt.length()) {
        sb.append(c);
        continue;
      }
      char f = fmt.charAt(++i);
      boolean noPad = false;
      if ((f == '-' || f == '_') && i + 1 < fmt.length()) {
        noPad = f == '-';
        f = fmt.charAt(++i);
      }
      int hour12 = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
      String v = switch (f) {
        case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
        case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
        case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
        case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
        case 'd' -> pad(t.getDayOfMonth(), 2, noPad);
        case 'e' -> noPad ? Integer.toString(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
        case 'm' -> pad(t.getMonthValue(), 2, noPad);
        case 'y' -> pad(t.getYear() % 100, 2, noPad);
        case 'Y' -> Integer.toString(t.getYear());
        case 'H' -> pad(t.getHour(), 2, noPad);
        case 'I' -> pad(hour12, 2, noPad);
        case 'M' -> pad(t.getMinute(), 2, noPad);
        case 'S' -> pad(t.getSecond(), 2, noPad);
        case 'p' -> t.getHour() < 12 ? "AM" : "PM";
        case 'j' -> pad(t.getDayOfYear(), 3, noPad);
        case 'f' -> String.format("%06d", t.getNano() / 1000);
        case 'w' -> Integer.toString(t.getDayOfWeek().getValue() % 7);
        case 'u' -> Integer.toString(t.getDayOfWeek().getValue());
        case 'F' -> String.format("%04d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth());
        case 'D' -> String.format("%02d/%02d/%02d", t.getMonthValue(), t.getDayOfMonth(), t.getYear() % 100);
        case 'T' -> String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
        case 'R' -> String.format("%02d:%02d", t.getHour(), t.getMinute());
        case 'Z', 'z' -> "";
        case 'n' -> "\n";
        case 't' -> "\t";
        case '%' -> "%";
        default -> "%" + f;
      };
      sb.append(v);
    }
    return sb.toString();
  }

  private static String pad(int v, int width, boolean noPad) {
    if (noPad) return Integer.toString(v);
    String s = Integer.toString(v);
    while (s.length() < width) s = "0" + s;
    return s;
  }
}
