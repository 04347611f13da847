package cgap.tokenizer.template;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into tokens the way Jinja2's lexer does with {@code trim_blocks=True,
 * lstrip_blocks=True}: data, tag delimiters and expression tokens, with whitespace control applied
 * to the data.
 */
final class Lexer {
  enum T {
    DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF
  }

  record Token(T type, String value, int pos) {
    boolean is(T t, String v) {
      return type == t && value.equals(v);
    }

    boolean isName(String v) {
      return type == T.NAME && value.equals(v);
    }

    boolean isOp(String v) {
      return type == T.OP && value.equals(v);
    }
  }

  private static final String[] OPS = {
    "//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    "<", ">", "=", ".", ":", "|", ",", ";"
  };

  final String src;
  private final int[] lineStarts;
  private final boolean trimBlocks;
  private final boolean lstripBlocks;
  private final List<Token> out = new ArrayList<>();
  private int pos;

  Lexer(String source, boolean trimBlocks, boolean lstripBlocks) {
    String s = source.replace("\r\n", "\n").replace('\r', '\n');
    if (s.endsWith("\n")) s = s.substring(0, s.length() - 1); // keep_trailing_newline=False
    this.src = s;
    this.trimBlocks = trimBlocks;
    this.lstripBlocks = lstripBlocks;
    List<Integer> starts = new ArrayList<>();
    starts.add(0);
    for (int i = 0; i < s.length(); i++) if (s.charAt(i) == '\n') starts.add(i + 1);
    lineStarts = starts.stream().mapToInt(Integer::intValue).toArray();
  }

  int line(int p) {
    int lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (lineStarts[mid] <= p) lo = mid; else hi = mid - 1;
    }
    return lo + 1;
  }

  int column(int p) {
    return p - lineStarts[line(p) - 1] + 1;
  }

  TemplateException error(String msg, int p) {
    return new TemplateException(msg, line(p), column(p));
  }

  static boolean isPySpace(int c) {
    return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
        || c == 0x3000;
  }

  static String rstrip(String s) {
    int e = s.length();
    while (e > 0 && isPySpace(s.charAt(e - 1))) e--;
    return s.substring(0, e);
  }

  private int skipSpace(int p) {
    while (p < src.length() && isPySpace(src.charAt(p))) p++;
    return p;
  }

  List<Token> tokenize() {
    boolean lineStarting = true;
    int n = src.length();
    pos = 0;
    while (pos < n) {
      int idx = nextTag(pos);
      String text = src.substring(pos, idx < 0 ? n : idx);
      if (idx < 0) {
        if (!text.isEmpty()) out.add(new Token(T.DATA, text, pos));
        break;
      }
      char kind = src.charAt(idx + 1); // '{', '%' or '#'
      char sign = idx + 2 < n ? src.charAt(idx + 2) : 0;
      if (sign == '-') {
        text = rstrip(text);
      } else if (sign != '+' && lstripBlocks && kind != '{') {
        int lpos = text.lastIndexOf('\n') + 1;
        if (lpos > 0 || lineStarting) {
          boolean blank = true;
          for (int i = lpos; i < text.length(); i++) {
            if (!isPySpace(text.charAt(i))) {
              blank = false;
              break;
            }
          }
          if (blank) text = text.substring(0, lpos);
        }
      }
      if (!text.isEmpty()) out.add(new Token(T.DATA, text, pos));
      int start = idx + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        int end = src.indexOf("#}", start);
        if (end < 0) throw error("Missing end of comment tag", idx);
        int after = end + 2;
        if (end > start && src.charAt(end - 1) == '-') after = skipSpace(after);
        else if (!(end > start && src.charAt(end - 1) == '+') && trimBlocks && after < n && src.charAt(after) == '\n') after++;
        pos = after;
        lineStarting = src.charAt(pos - 1) == '\n';
        continue;
      }
      if (kind == '%' && tryRaw(idx, start)) {
        lineStarting = pos > 0 && src.charAt(pos - 1) == '\n';
        continue;
      }
      out.add(new Token(kind == '{' ? T.VAR_BEGIN : T.BLOCK_BEGIN, kind == '{' ? "{{" : "{%", idx));
      pos = start;
      lexTag(kind == '{', idx);
      lineStarting = src.charAt(pos - 1) == '\n';
    }
    out.add(new Token(T.EOF, "", n));
    return out;
  }

  private int nextTag(int from) {
    int i = from;
    while (true) {
      int j = src.indexOf('{', i);
      if (j < 0 || j + 1 >= src.length()) return -1;
      char c = src.charAt(j + 1);
      if (c == '{' || c == '%' || c == '#') return j;
      i = j + 1;
    }
  }

  /** Handles {% raw %}...{% endraw %}; returns false if the tag at idx is not raw. */
  private boolean tryRaw(int idx, int start) {
    int p = skipSpace(start);
    if (!src.startsWith("raw", p)) return false;
    p = skipSpace(p + 3);
    boolean stripAfter = false;
    if (src.startsWith("-%}", p)) {
      stripAfter = true;
      p += 3;
    } else if (src.startsWith("%}", p)) {
      p += 2;
    } else {
      return false;
    }
    int bodyStart = stripAfter ? skipSpace(p) : p;
    int q = bodyStart;
    while (true) {
      int e = src.indexOf("{%", q);
      if (e < 0) throw error("Missing end of raw directive", idx);
      int r = e + 2;
      boolean stripBefore = r < src.length() && src.charAt(r) == '-';
      if (stripBefore || (r < src.length() && src.charAt(r) == '+')) r++;
      r = skipSpace(r);
      if (src.startsWith("endraw", r)) {
        r = skipSpace(r + 6);
        String body = src.substring(bodyStart, e);
        if (stripBefore) body = rstrip(body);
        if (src.startsWith("-%}", r)) {
          pos = skipSpace(r + 3);
        } else if (src.startsWith("%}", r)) {
          pos = r + 2;
          if (trimBlocks && pos < src.length() && src.charAt(pos) == '\n') pos++;
        } else {
          throw error("Missing end of raw directive", e);
        }
        if (!body.isEmpty()) out.add(new Token(T.DATA, body, bodyStart));
        return true;
      }
      q = e + 2;
    }
  }

  private void lexTag(boolean variable, int tagStart) {
    int n = src.length();
    int depth = 0;
    while (true) {
      int ws = skipSpace(pos);
      pos = ws;
      if (pos >= n) throw error("unexpected end of template, expected end of " + (variable ? "print statement" : "block statement"), tagStart);
      if (depth == 0) {
        if (variable) {
          if (src.startsWith("-}}", pos)) {
            out.add(new Token(T.VAR_END, "}}", pos));
            pos = skipSpace(pos + 3);
            return;
          }
          if (src.startsWith("}}", pos)) {
            out.add(new Token(T.VAR_END, "}}", pos));
            pos += 2;
            return;
          }
        } else {
          if (src.startsWith("-%}", pos)) {
            out.add(new Token(T.BLOCK_END, "%}", pos));
            pos = skipSpace(pos + 3);
            return;
          }
          if (src.startsWith("+%}", pos)) {
            out.add(new Token(T.BLOCK_END, "%}", pos));
            pos += 3;
            return;
          }
          if (src.startsWith("%}", pos)) {
            out.add(new Token(T.BLOCK_END, "%}", pos));
            pos += 2;
            if (trimBlocks && pos < n && src.charAt(pos) == '\n') pos++;
            return;
          }
        }
      }
      char c = src.charAt(pos);
      if (c == '\'' || c == '"') {
        lexString(c);
      } else if (Character.isDigit(c)) {
        lexNumber();
      } else if (Character.isLetter(c) || c == '_') {
        int s = pos;
        while (pos < n && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
        out.add(new Token(T.NAME, src.substring(s, pos), s));
      } else {
        String op = null;
        for (String o : OPS) {
          if (src.startsWith(o, pos)) {
            op = o;
            break;
          }
        }
        if (op == null) throw error("unexpected char '" + c + "' at " + pos, pos);
        switch (op) {
          case "(", "[", "{" -> depth++;
          case ")", "]", "}" -> {
            if (depth == 0) throw error("unexpected '" + op + "'", pos);
            depth--;
          }
          default -> {}
        }
        out.add(new Token(T.OP, op, pos));
        pos += op.length();
      }
    }
  }

  private void lexNumber() {
    int n = src.length();
    int s = pos;
    int p = digits(pos);
    boolean isFloat = false;
    boolean afterDot = s > 0 && src.charAt(s - 1) == '.';
    if (afterDot) {
      out.add(new Token(T.INT, src.substring(s, p).replace("_", ""), s));
      pos = p;
      return;
    }
    if (p + 1 < n && src.charAt(p) == '.' && Character.isDigit(src.charAt(p + 1))) {
      p = digits(p + 1);
      isFloat = true;
    }
    if (p < n && (src.charAt(p) == 'e' || src.charAt(p) == 'E')) {
      int q = p + 1;
      if (q < n && (src.charAt(q) == '+' || src.charAt(q) == '-')) q++;
      if (q < n && Character.isDigit(src.charAt(q))) {
        p = digits(q);
        isFloat = true;
      }
    }
    String text = src.substring(s, p).replace("_", "");
    out.add(new Token(isFloat ? T.FLOAT : T.INT, text, s));
    pos = p;
  }

  private int digits(int p) {
    int n = src.length();
    while (p < n && (Character.isDigit(src.charAt(p)) || (src.charAt(p) == '_' && p + 1 < n && Character.isDigit(src.charAt(p + 1))))) p++;
    return p;
  }

  private void lexString(char q) {
    int s = pos;
    int n = src.length();
    StringBuilder sb = new StringBuilder();
    int p = pos + 1;
    while (true) {
      if (p >= n) throw error("unexpected end of string", s);
      char c = src.charAt(p);
      if (c == q) {
        p++;
        break;
      }
      if (c == '\\' && p + 1 < n) {
        char e = src.charAt(p + 1);
        p += 2;
        switch (e) {
          case '\n' -> {}
          case '\\' -> sb.append('\\');
          case '\'' -> sb.append('\'');
          case '"' -> sb.append('"');
          case 'a' -> sb.append('\u0007');
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'v' -> sb.append('\u000b');
          case 'x', 'u', 'U' -> {
            int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (p + len > n) throw error("truncated \\" + e + " escape", p - 2);
            int cp;
            try {
              cp = Integer.parseInt(src.substring(p, p + len), 16);
            } catch (NumberFormatException ex) {
              throw error("truncated \\" + e + " escape", p - 2);
            }
            sb.appendCodePoint(cp);
            p += len;
          }
          default -> {
            if (e >= '0' && e <= '7') {
              int v = e - '0';
              int k = 0;
              while (k < 2 && p < n && src.charAt(p) >= '0' && src.charAt(p) <= '7') {
                v = v * 8 + (src.charAt(p) - '0');
                p++;
                k++;
              }
              sb.append((char) v);
            } else {
              sb.append('\\').append(e);
            }
          }
        }
        continue;
      }
      sb.append(c);
      p++;
    }
    out.add(new Token(T.STRING, sb.toString(), s));
    pos = p;
  }
}
