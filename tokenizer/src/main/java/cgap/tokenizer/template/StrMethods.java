package cgap.tokenizer.template;

import cgap.tokenizer.template.Py.PyError;
import cgap.tokenizer.template.Py.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Python str methods as called from templates ({@code s.strip()}, {@code s.split('x')}, ...). */
final class StrMethods {
  private StrMethods() {}

  private static Object arg(List<Object> args, Map<String, Object> kw, int i, String name, Object def) {
    if (i < args.size()) return args.get(i);
    if (kw.containsKey(name)) return kw.get(name);
    return def;
  }

  private static String strArg(Object o, String method) {
    if (o instanceof String s) return s;
    if (o instanceof Py.Undefined u) throw u.fail();
    throw Py.typeError(method + " arg must be None or str");
  }

  static Object call(String s, String name, List<Object> args, Map<String, Object> kw) {
    switch (name) {
      case "strip":
      case "lstrip":
      case "rstrip": {
        Object chars = arg(args, kw, 0, "chars", null);
        if (chars != null) strArg(chars, name);
        return strip(s, chars, !name.equals("rstrip"), !name.equals("lstrip"));
      }
      case "split":
      case "rsplit": {
        Object sep = arg(args, kw, 0, "sep", null);
        long max = Py.toLong(arg(args, kw, 1, "maxsplit", -1L));
        List<Object> r = new ArrayList<>();
        if (sep == null) {
          r.addAll(name.equals("split") ? splitWs(s, max) : rsplitWs(s, max));
          return r;
        }
        String sp = strArg(sep, name);
        if (sp.isEmpty()) throw new PyError("ValueError", "empty separator");
        if (name.equals("split")) {
          int start = 0;
          long n = 0;
          while (max < 0 || n < max) {
            int i = s.indexOf(sp, start);
            if (i < 0) break;
            r.add(s.substring(start, i));
            start = i + sp.length();
            n++;
          }
          r.add(s.substring(start));
        } else {
          int end = s.length();
          long n = 0;
          List<Object> rev = new ArrayList<>();
          while (max < 0 || n < max) {
            int i = s.lastIndexOf(sp, end - sp.length());
            if (i < 0 || end - sp.length() < 0) break;
            rev.add(s.substring(i + sp.length(), end));
            end = i;
            n++;
          }
          rev.add(s.substring(0, end));
          for (int i = rev.size() - 1; i >= 0; i--) r.add(rev.get(i));
        }
        return r;
      }
      case "splitlines":
        return new ArrayList<Object>(splitlines(s, Py.truthy(arg(args, kw, 0, "keepends", false))));
      case "startswith":
      case "endswith": {
        Object p = arg(args, kw, 0, "prefix", null);
        List<Object> options = p instanceof Tuple t ? t.items() : List.of(p == null ? "" : p);
        for (Object o : options) {
          if (!(o instanceof String x)) {
            if (o instanceof Py.Undefined u) throw u.fail();
            throw Py.typeError(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
          }
          if (name.equals("startswith") ? s.startsWith(x) : s.endsWith(x)) return true;
        }
        return false;
      }
      case "upper":
        return s.toUpperCase(Locale.ROOT);
      case "lower":
        return s.toLowerCase(Locale.ROOT);
      case "casefold":
        return s.toLowerCase(Locale.ROOT);
      case "swapcase": {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.appendCodePoint(Character.isUpperCase(cp) ? Character.toLowerCase(cp) : Character.toUpperCase(cp)));
        return sb.toString();
      }
      case "title": {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
          int cp = s.codePointAt(i);
          i += Character.charCount(cp);
          boolean cased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
          if (cased) sb.append(prevCased ? new String(Character.toChars(cp)).toLowerCase(Locale.ROOT) : new String(Character.toChars(cp)).toUpperCase(Locale.ROOT));
          else sb.appendCodePoint(cp);
          prevCased = cased;
        }
        return sb.toString();
      }
      case "capitalize": {
        if (s.isEmpty()) return s;
        int cp = s.codePointAt(0);
        int w = Character.charCount(cp);
        return new String(Character.toChars(cp)).toUpperCase(Locale.ROOT) + s.substring(w).toLowerCase(Locale.ROOT);
      }
      case "replace": {
        Object count = arg(args, kw, 2, "count", -1L);
        return replace(s, strArg(arg(args, kw, 0, "old", null), name), strArg(arg(args, kw, 1, "new", null), name), Py.toLong(count));
      }
      case "removeprefix": {
        String p = strArg(arg(args, kw, 0, "prefix", null), name);
        return s.startsWith(p) ? s.substring(p.length()) : s;
      }
      case "removesuffix": {
        String p = strArg(arg(args, kw, 0, "suffix", null), name);
        return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
      }
      case "join": {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object o : Py.iterate(arg(args, kw, 0, "iterable", null))) {
          if (!(o instanceof String x)) throw Py.typeError("sequence item: expected str instance, " + Py.typeName(o) + " found");
          if (!first) sb.append(s);
          first = false;
          sb.append(x);
        }
        return sb.toString();
      }
      case "find":
      case "index":
      case "rfind":
      case "rindex": {
        String sub = strArg(arg(args, kw, 0, "sub", null), name);
        int i = name.startsWith("r") ? s.lastIndexOf(sub) : s.indexOf(sub);
        if (i < 0 && name.endsWith("index")) throw new PyError("ValueError", "substring not found");
        return (long) (i < 0 ? -1 : s.codePointCount(0, i));
      }
      case "count": {
        String sub = strArg(arg(args, kw, 0, "sub", null), name);
        if (sub.isEmpty()) return Py.len(s) + 1;
        long c = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) c++;
        return c;
      }
      case "isdigit":
      case "isdecimal":
      case "isnumeric":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
      case "isalpha":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
      case "isalnum":
        return !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
      case "isspace":
        return !s.isEmpty() && s.codePoints().allMatch(Lexer::isPySpace);
      case "isascii":
        return s.chars().allMatch(c -> c < 128);
      case "islower": {
        boolean anyCased = s.codePoints().anyMatch(c -> Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c));
        return anyCased && s.codePoints().noneMatch(c -> Character.isUpperCase(c) || Character.isTitleCase(c));
      }
      case "isupper": {
        boolean anyCased = s.codePoints().anyMatch(c -> Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c));
        return anyCased && s.codePoints().noneMatch(c -> Character.isLowerCase(c) || Character.isTitleCase(c));
      }
      case "center":
      case "ljust":
      case "rjust": {
        long width = Py.toLong(arg(args, kw, 0, "width", 0L));
        String fill = (String) arg(args, kw, 1, "fillchar", " ");
        long len = Py.len(s);
        if (width <= len) return s;
        long marg = width - len;
        long left;
        if (name.equals("center")) left = marg / 2 + (marg & width & 1);
        else if (name.equals("ljust")) left = 0;
        else left = marg;
        return fill.repeat((int) left) + s + fill.repeat((int) (marg - left));
      }
      case "zfill": {
        long width = Py.toLong(arg(args, kw, 0, "width", 0L));
        if (width <= s.length()) return s;
        String pad = "0".repeat((int) (width - s.length()));
        if (!s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-')) return s.charAt(0) + pad + s.substring(1);
        return pad + s;
      }
      case "partition":
      case "rpartition": {
        String sep = strArg(arg(args, kw, 0, "sep", null), name);
        int i = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
        if (i < 0) return name.equals("partition") ? new Tuple(List.of(s, "", "")) : new Tuple(List.of("", "", s));
        return new Tuple(List.of(s.substring(0, i), sep, s.substring(i + sep.length())));
      }
      case "format":
        return format(s, args, kw);
      default:
        throw new PyError("SecurityError", "str." + name + " is not supported by this template engine");
    }
  }

  static String strip(String s, Object chars, boolean left, boolean right) {
    int b = 0, e = s.length();
    if (chars == null) {
      if (left) while (b < e && Lexer.isPySpace(s.charAt(b))) b++;
      if (right) while (e > b && Lexer.isPySpace(s.charAt(e - 1))) e--;
    } else {
      String cs = (String) chars;
      if (left) while (b < e && cs.indexOf(s.charAt(b)) >= 0) b++;
      if (right) while (e > b && cs.indexOf(s.charAt(e - 1)) >= 0) e--;
    }
    return s.substring(b, e);
  }

  static String replace(String s, String old, String neu, long count) {
    if (count < 0) {
      if (old.isEmpty()) {
        StringBuilder sb = new StringBuilder(neu);
        s.codePoints().forEach(cp -> sb.appendCodePoint(cp).append(neu));
        return sb.toString();
      }
      return s.replace(old, neu);
    }
    StringBuilder sb = new StringBuilder();
    int start = 0;
    long n = 0;
    if (old.isEmpty()) {
      int i = 0;
      while (n < count && i <= s.length()) {
        sb.append(neu);
        n++;
        if (i < s.length()) {
          int cp = s.codePointAt(i);
          sb.appendCodePoint(cp);
          i += Character.charCount(cp);
        } else {
          i++;
        }
      }
      if (i < s.length()) sb.append(s.substring(i));
      return sb.toString();
    }
    while (n < count) {
      int i = s.indexOf(old, start);
      if (i < 0) break;
      sb.append(s, start, i).append(neu);
      start = i + old.length();
      n++;
    }
    return sb.append(s.substring(start)).toString();
  }

  private static List<String> splitWs(String s, long max) {
    List<String> r = new ArrayList<>();
    int i = 0, n = s.length();
    while (true) {
      while (i < n && Lexer.isPySpace(s.charAt(i))) i++;
      if (i >= n) break;
      if (max >= 0 && r.size() >= max) {
        r.add(s.substring(i));
        break;
      }
      int j = i;
      while (j < n && !Lexer.isPySpace(s.charAt(j))) j++;
      r.add(s.substring(i, j));
      i = j;
    }
    return r;
  }

  private static List<String> rsplitWs(String s, long max) {
    List<String> r = new ArrayList<>();
    int j = s.length();
    while (true) {
      while (j > 0 && Lexer.isPySpace(s.charAt(j - 1))) j--;
      if (j <= 0) break;
      if (max >= 0 && r.size() >= max) {
        r.add(0, s.substring(0, j));
        break;
      }
      int i = j;
      while (i > 0 && !Lexer.isPySpace(s.charAt(i - 1))) i--;
      r.add(0, s.substring(i, j));
      j = i;
    }
    return r;
  }

  static boolean isLineBreak(char c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85
        || c == 0x2028 || c == 0x2029;
  }

  static List<String> splitlines(String s, boolean keepends) {
    List<String> r = new ArrayList<>();
    int i = 0, n = s.length();
    while (i < n) {
      int j = i;
      while (j < n && !isLineBreak(s.charAt(j))) j++;
      int eol = j;
      if (j < n) {
        if (s.charAt(j) == '\r' && j + 1 < n && s.charAt(j + 1) == '\n') j += 2;
        else j++;
        if (keepends) eol = j;
      }
      r.add(s.substring(i, eol));
      i = j;
    }
    return r;
  }

  /** str.format with auto/explicit/keyword fields and simple format specs. */
  static String format(String s, List<Object> args, Map<String, Object> kw) {
    StringBuilder sb = new StringBuilder();
    int auto = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '{') {
        if (i + 1 < s.length() && s.charAt(i + 1) == '{') {
          sb.append('{');
          i++;
          continue;
        }
        int e = s.indexOf('}', i);
        if (e < 0) throw new PyError("ValueError", "Single '{' encountered in format string");
        String field = s.substring(i + 1, e);
        String spec = "";
        String conv = null;
        int colon = field.indexOf(':');
        if (colon >= 0) {
          spec = field.substring(colon + 1);
          field = field.substring(0, colon);
        }
        int bang = field.indexOf('!');
        if (bang >= 0) {
          conv = field.substring(bang + 1);
          field = field.substring(0, bang);
        }
        Object v;
        if (field.isEmpty()) {
          v = args.get(auto++);
        } else if (field.chars().allMatch(Character::isDigit)) {
          v = args.get(Integer.parseInt(field));
        } else {
          v = kw.containsKey(field) ? kw.get(field) : new Py.Undefined("KeyError: '" + field + "'");
        }
        String out = "r".equals(conv) ? Py.repr(v) : formatSpec(v, spec);
        sb.append(out);
        i = e;
      } else if (c == '}') {
        if (i + 1 < s.length() && s.charAt(i + 1) == '}') i++;
        sb.append('}');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static String formatSpec(Object v, String spec) {
    if (spec.isEmpty()) return Py.str(v);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:(.)?([<>^]))?(\\d+)?(?:\\.(\\d+))?([sdf])?").matcher(spec);
    if (!m.matches()) return Py.str(v);
    String fill = m.group(1) == null ? " " : m.group(1);
    String align = m.group(2);
    int width = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
    String body;
    if ("f".equals(m.group(5)) || (m.group(4) != null && Py.isNum(v))) {
      int prec = m.group(4) == null ? 6 : Integer.parseInt(m.group(4));
      body = new java.math.BigDecimal(Py.toDouble(v)).setScale(prec, java.math.RoundingMode.HALF_EVEN).toPlainString();
    } else {
      body = Py.str(v);
      if (m.group(4) != null) body = body.substring(0, Math.min(body.length(), Integer.parseInt(m.group(4))));
    }
    if (align == null) align = Py.isNum(v) ? ">" : "<";
    int pad = width - body.length();
    if (pad <= 0) return body;
    return switch (align) {
      case ">" -> fill.repeat(pad) + body;
      case "^" -> fill.repeat(pad / 2) + body + fill.repeat(pad - pad / 2);
      default -> body + fill.repeat(pad);
    };
  }
}
