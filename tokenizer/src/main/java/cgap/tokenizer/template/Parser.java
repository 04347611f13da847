package cgap.tokenizer.template;

import cgap.tokenizer.template.Lexer.T;
import cgap.tokenizer.template.Lexer.Token;
import cgap.tokenizer.template.Node.*;
import java.util.ArrayList;
import java.util.List;

/** Recursive-descent parser following Jinja2's grammar and operator precedence. */
final class Parser {
  private final Lexer lexer;
  private final List<Token> toks;
  private int p;
  private int loopDepth;

  Parser(Lexer lexer) {
    this.lexer = lexer;
    this.toks = lexer.tokenize();
  }

  List<Node> parseTemplate() {
    List<Node> body = parseBody(List.of());
    if (cur().type() != T.EOF) throw fail("unexpected '" + describe(cur()) + "'", cur());
    return body;
  }

  // ------------------------------------------------------------------ helpers
  private Token cur() {
    return toks.get(p);
  }

  private Token look() {
    return toks.get(Math.min(p + 1, toks.size() - 1));
  }

  private Token next() {
    Token t = toks.get(p);
    if (p < toks.size() - 1) p++;
    return t;
  }

  private TemplateException fail(String msg, Token at) {
    return lexer.error(msg, at.pos());
  }

  private static String describe(Token t) {
    return switch (t.type()) {
      case EOF -> "end of template";
      case VAR_END -> "end of print statement";
      case BLOCK_END -> "end of statement block";
      case DATA -> "template data";
      default -> t.value();
    };
  }

  private Token expectOp(String op) {
    if (!cur().isOp(op)) throw fail("expected token '" + op + "', got '" + describe(cur()) + "'", cur());
    return next();
  }

  private Token expect(T type, String what) {
    if (cur().type() != type) throw fail("expected token '" + what + "', got '" + describe(cur()) + "'", cur());
    return next();
  }

  private String expectName() {
    if (cur().type() != T.NAME) throw fail("expected name, got '" + describe(cur()) + "'", cur());
    return next().value();
  }

  private void expectBlockEnd() {
    expect(T.BLOCK_END, "end of statement block");
  }

  private boolean skipName(String n) {
    if (cur().isName(n)) {
      p++;
      return true;
    }
    return false;
  }

  private boolean skipOp(String o) {
    if (cur().isOp(o)) {
      p++;
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ statements
  /** Parses nodes until a block tag whose name is in endNames; leaves the cursor on that name. */
  private List<Node> parseBody(List<String> endNames) {
    List<Node> body = new ArrayList<>();
    while (true) {
      Token t = cur();
      switch (t.type()) {
        case DATA -> {
          next();
          body.add(new Text(t.pos(), t.value()));
        }
        case VAR_BEGIN -> {
          next();
          Expr e = parseTuple(true, List.of(), false);
          expect(T.VAR_END, "end of print statement");
          body.add(new Output(t.pos(), e));
        }
        case BLOCK_BEGIN -> {
          next();
          Token name = cur();
          if (name.type() == T.NAME && endNames.contains(name.value())) return body;
          body.add(parseStatement());
        }
        case EOF -> {
          if (!endNames.isEmpty()) {
            throw fail("Unexpected end of template. Jinja was looking for the following tags: '"
                + String.join("' or '", endNames) + "'.", t);
          }
          return body;
        }
        default -> throw fail("unexpected '" + describe(t) + "'", t);
      }
    }
  }

  private Node parseStatement() {
    Token t = cur();
    if (t.type() != T.NAME) throw fail("tag name expected", t);
    String kw = t.value();
    switch (kw) {
      case "if":
        return parseIf();
      case "for":
        return parseFor();
      case "set":
        return parseSet();
      case "macro":
        return parseMacro();
      case "call":
        return parseCallBlock();
      case "filter":
        return parseFilterBlock();
      case "with":
        return parseWith();
      case "generation": {
        next();
        expectBlockEnd();
        List<Node> body = parseBody(List.of("endgeneration"));
        next();
        expectBlockEnd();
        return new Generation(t.pos(), body);
      }
      case "break":
      case "continue": {
        next();
        if (loopDepth == 0) throw fail("Tried to leave loop outside of a loop", t);
        expectBlockEnd();
        return kw.equals("break") ? new Break(t.pos()) : new Continue(t.pos());
      }
      default:
        throw fail("Encountered unknown tag '" + kw + "'.", t);
    }
  }

  private Node parseIf() {
    Token start = next();
    List<Expr> tests = new ArrayList<>();
    List<List<Node>> bodies = new ArrayList<>();
    List<Node> otherwise = List.of();
    tests.add(parseTuple(false, List.of(), false));
    expectBlockEnd();
    while (true) {
      bodies.add(parseBody(List.of("elif", "else", "endif")));
      Token tag = next();
      if (tag.value().equals("elif")) {
        tests.add(parseTuple(false, List.of(), false));
        expectBlockEnd();
        continue;
      }
      if (tag.value().equals("else")) {
        expectBlockEnd();
        otherwise = parseBody(List.of("endif"));
        next();
      }
      expectBlockEnd();
      break;
    }
    return new If(start.pos(), tests, bodies, otherwise);
  }

  private Node parseFor() {
    Token start = next();
    Target target = parseAssignTarget(false, List.of("in"));
    if (!skipName("in")) throw fail("expected token 'in', got '" + describe(cur()) + "'", cur());
    Expr iter = parseTuple(false, List.of("recursive"), false);
    Expr filter = null;
    if (skipName("if")) filter = parseExpression(true);
    boolean recursive = skipName("recursive");
    expectBlockEnd();
    loopDepth++;
    List<Node> body = parseBody(List.of("endfor", "else"));
    loopDepth--;
    List<Node> otherwise = List.of();
    if (next().value().equals("else")) {
      expectBlockEnd();
      otherwise = parseBody(List.of("endfor"));
      next();
    }
    expectBlockEnd();
    return new For(start.pos(), target, iter, filter, body, otherwise, recursive);
  }

  private Node parseSet() {
    Token start = next();
    Target target = parseAssignTarget(true, List.of());
    if (skipOp("=")) {
      Expr value = parseTuple(true, List.of(), false);
      expectBlockEnd();
      return new Set(start.pos(), target, value);
    }
    List<Filter> filters = parseFilterChain();
    expectBlockEnd();
    List<Node> body = parseBody(List.of("endset"));
    next();
    expectBlockEnd();
    return new SetBlock(start.pos(), target, filters, body);
  }

  private List<Filter> parseFilterChain() {
    List<Filter> filters = new ArrayList<>();
    while (skipOp("|")) filters.add(parseFilterTail(null, toks.get(p - 1)));
    return filters;
  }

  private Node parseMacro() {
    Token start = next();
    String name = expectName();
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    parseSignature(params, defaults);
    expectBlockEnd();
    int saved = loopDepth;
    loopDepth = 0;
    List<Node> body = parseBody(List.of("endmacro"));
    loopDepth = saved;
    next();
    expectBlockEnd();
    return new Macro(start.pos(), name, params, defaults, body);
  }

  private void parseSignature(List<String> params, List<Expr> defaults) {
    expectOp("(");
    while (!cur().isOp(")")) {
      if (!params.isEmpty()) expectOp(",");
      if (cur().isOp(")")) break;
      params.add(expectName());
      if (skipOp("=")) defaults.add(parseExpression(true));
      else if (!defaults.isEmpty()) throw fail("non-default argument follows default argument", cur());
    }
    expectOp(")");
  }

  private Node parseCallBlock() {
    Token start = next();
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    if (cur().isOp("(")) parseSignature(params, defaults);
    Expr call = parseExpression(true);
    if (!(call instanceof Call c)) throw fail("expected call", start);
    expectBlockEnd();
    int saved = loopDepth;
    loopDepth = 0;
    List<Node> body = parseBody(List.of("endcall"));
    loopDepth = saved;
    next();
    expectBlockEnd();
    return new CallBlock(start.pos(), c, params, defaults, body);
  }

  private Node parseFilterBlock() {
    Token start = next();
    List<Filter> filters = new ArrayList<>();
    filters.add(parseFilterTail(null, start));
    filters.addAll(parseFilterChain());
    expectBlockEnd();
    List<Node> body = parseBody(List.of("endfilter"));
    next();
    expectBlockEnd();
    return new FilterBlock(start.pos(), filters, body);
  }

  private Node parseWith() {
    Token start = next();
    List<Target> targets = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    while (cur().type() != T.BLOCK_END) {
      if (!targets.isEmpty()) expectOp(",");
      targets.add(parseAssignTarget(false, List.of()));
      expectOp("=");
      values.add(parseExpression(true));
    }
    expectBlockEnd();
    List<Node> body = parseBody(List.of("endwith"));
    next();
    expectBlockEnd();
    return new With(start.pos(), targets, values, body);
  }

  private Target parseAssignTarget(boolean withNamespace, List<String> extraEnd) {
    if (withNamespace && cur().type() == T.NAME && look().isOp(".")) {
      String ns = next().value();
      next();
      String attr = expectName();
      return new NsTarget(ns, attr);
    }
    // with_tuple: names separated by commas, optionally parenthesized
    List<Target> items = new ArrayList<>();
    boolean tuple = false;
    while (true) {
      if (!items.isEmpty()) {
        if (!skipOp(",")) break;
        tuple = true;
        if (isTupleEnd(extraEnd) || cur().isOp("=")) break;
      }
      items.add(parseTargetPrimary());
    }
    return tuple ? new TupleTarget(items) : items.get(0);
  }

  private Target parseTargetPrimary() {
    if (skipOp("(")) {
      List<Target> items = new ArrayList<>();
      while (!cur().isOp(")")) {
        if (!items.isEmpty()) expectOp(",");
        if (cur().isOp(")")) break;
        items.add(parseTargetPrimary());
      }
      expectOp(")");
      return new TupleTarget(items);
    }
    Token t = cur();
    String n = expectName();
    if (n.equals("true") || n.equals("false") || n.equals("none") || n.equals("True") || n.equals("False") || n.equals("None")) {
      throw fail("can't assign to '" + n + "'", t);
    }
    return new NameTarget(n);
  }

  // ------------------------------------------------------------------ expressions
  private boolean isTupleEnd(List<String> extraEnd) {
    Token t = cur();
    if (t.type() == T.VAR_END || t.type() == T.BLOCK_END || t.type() == T.EOF || t.isOp(")")) return true;
    return t.type() == T.NAME && extraEnd.contains(t.value());
  }

  Expr parseTuple(boolean withCondexpr, List<String> extraEnd, boolean explicitParens) {
    Token start = cur();
    List<Expr> items = new ArrayList<>();
    boolean isTuple = false;
    while (true) {
      if (!items.isEmpty()) expectOp(",");
      if (isTupleEnd(extraEnd)) break;
      items.add(parseExpression(withCondexpr));
      if (cur().isOp(",")) isTuple = true;
      else break;
    }
    if (!isTuple) {
      if (!items.isEmpty()) return items.get(0);
      if (!explicitParens) throw fail("Expected an expression, got '" + describe(cur()) + "'", cur());
    }
    return new TupleLit(start.pos(), items);
  }

  private Expr parseExpression(boolean withCondexpr) {
    return withCondexpr ? parseCondexpr() : parseOr();
  }

  private Expr parseCondexpr() {
    Token start = cur();
    Expr e1 = parseOr();
    while (skipName("if")) {
      Expr e2 = parseOr();
      Expr e3 = skipName("else") ? parseCondexpr() : null;
      e1 = new CondExpr(start.pos(), e2, e1, e3);
    }
    return e1;
  }

  private Expr parseOr() {
    Expr left = parseAnd();
    while (cur().isName("or")) {
      Token t = next();
      left = new Binary(t.pos(), "or", left, parseAnd());
    }
    return left;
  }

  private Expr parseAnd() {
    Expr left = parseNot();
    while (cur().isName("and")) {
      Token t = next();
      left = new Binary(t.pos(), "and", left, parseNot());
    }
    return left;
  }

  private Expr parseNot() {
    if (cur().isName("not")) {
      Token t = next();
      return new Unary(t.pos(), "not", parseNot());
    }
    return parseCompare();
  }

  private Expr parseCompare() {
    Token start = cur();
    Expr first = parseMath1();
    List<String> ops = new ArrayList<>();
    List<Expr> rest = new ArrayList<>();
    while (true) {
      Token t = cur();
      if (t.type() == T.OP && (t.value().equals("==") || t.value().equals("!=") || t.value().equals("<")
          || t.value().equals(">") || t.value().equals("<=") || t.value().equals(">="))) {
        next();
        ops.add(t.value());
        rest.add(parseMath1());
      } else if (t.isName("in")) {
        next();
        ops.add("in");
        rest.add(parseMath1());
      } else if (t.isName("not") && look().isName("in")) {
        next();
        next();
        ops.add("notin");
        rest.add(parseMath1());
      } else {
        break;
      }
    }
    return ops.isEmpty() ? first : new Compare(start.pos(), first, ops, rest);
  }

  private Expr parseMath1() {
    Expr left = parseConcat();
    while (cur().isOp("+") || cur().isOp("-")) {
      Token t = next();
      left = new Binary(t.pos(), t.value(), left, parseConcat());
    }
    return left;
  }

  private Expr parseConcat() {
    Expr left = parseMath2();
    while (cur().isOp("~")) {
      Token t = next();
      left = new Binary(t.pos(), "~", left, parseMath2());
    }
    return left;
  }

  private Expr parseMath2() {
    Expr left = parsePow();
    while (cur().isOp("*") || cur().isOp("/") || cur().isOp("//") || cur().isOp("%")) {
      Token t = next();
      left = new Binary(t.pos(), t.value(), left, parsePow());
    }
    return left;
  }

  private Expr parsePow() {
    Expr left = parseUnary(true);
    while (cur().isOp("**")) {
      Token t = next();
      left = new Binary(t.pos(), "**", left, parseUnary(true));
    }
    return left;
  }

  private Expr parseUnary(boolean withFilter) {
    Token t = cur();
    Expr node;
    if (t.isOp("-")) {
      next();
      node = new Unary(t.pos(), "-", parseUnary(false));
    } else if (t.isOp("+")) {
      next();
      node = new Unary(t.pos(), "+", parseUnary(false));
    } else {
      node = parsePrimary();
    }
    node = parsePostfix(node);
    if (withFilter) node = parseFilterExpr(node);
    return node;
  }

  private Expr parsePrimary() {
    Token t = cur();
    switch (t.type()) {
      case NAME -> {
        next();
        return switch (t.value()) {
          case "true", "True" -> new Const(t.pos(), Boolean.TRUE);
          case "false", "False" -> new Const(t.pos(), Boolean.FALSE);
          case "none", "None" -> new Const(t.pos(), null);
          default -> new Name(t.pos(), t.value());
        };
      }
      case STRING -> {
        next();
        StringBuilder sb = new StringBuilder(t.value());
        while (cur().type() == T.STRING) sb.append(next().value());
        return new Const(t.pos(), sb.toString());
      }
      case INT -> {
        next();
        try {
          return new Const(t.pos(), Long.parseLong(t.value()));
        } catch (NumberFormatException e) {
          return new Const(t.pos(), Double.parseDouble(t.value()));
        }
      }
      case FLOAT -> {
        next();
        return new Const(t.pos(), Double.parseDouble(t.value()));
      }
      case OP -> {
        if (t.isOp("(")) {
          next();
          Expr e = parseTuple(true, List.of(), true);
          expectOp(")");
          return e;
        }
        if (t.isOp("[")) {
          next();
          List<Expr> items = new ArrayList<>();
          while (!cur().isOp("]")) {
            if (!items.isEmpty()) expectOp(",");
            if (cur().isOp("]")) break;
            items.add(parseExpression(true));
          }
          expectOp("]");
          return new ListLit(t.pos(), items);
        }
        if (t.isOp("{")) {
          next();
          List<Expr> keys = new ArrayList<>();
          List<Expr> values = new ArrayList<>();
          while (!cur().isOp("}")) {
            if (!keys.isEmpty()) expectOp(",");
            if (cur().isOp("}")) break;
            keys.add(parseExpression(true));
            expectOp(":");
            values.add(parseExpression(true));
          }
          expectOp("}");
          return new DictLit(t.pos(), keys, values);
        }
      }
      default -> {}
    }
    throw fail("unexpected '" + describe(t) + "'", t);
  }

  private Expr parsePostfix(Expr node) {
    while (true) {
      Token t = cur();
      if (t.isOp(".")) {
        next();
        Token a = next();
        if (a.type() == T.NAME) node = new GetAttr(t.pos(), node, a.value());
        else if (a.type() == T.INT) node = new GetItem(t.pos(), node, new Const(a.pos(), Long.parseLong(a.value())));
        else throw fail("expected name or number", a);
      } else if (t.isOp("[")) {
        next();
        List<Expr> args = new ArrayList<>();
        while (!cur().isOp("]")) {
          if (!args.isEmpty()) expectOp(",");
          args.add(parseSubscribed());
        }
        expectOp("]");
        node = new GetItem(t.pos(), node, args.size() == 1 ? args.get(0) : new TupleLit(t.pos(), args));
      } else if (t.isOp("(")) {
        node = new Call(t.pos(), node, parseCallArgs());
      } else {
        return node;
      }
    }
  }

  private Expr parseSubscribed() {
    Token start = cur();
    Expr[] parts = new Expr[3];
    if (cur().isOp(":")) {
      next();
    } else {
      Expr e = parseExpression(true);
      if (!cur().isOp(":")) return e;
      next();
      parts[0] = e;
    }
    if (!cur().isOp(":") && !cur().isOp("]") && !cur().isOp(",")) parts[1] = parseExpression(true);
    if (cur().isOp(":")) {
      next();
      if (!cur().isOp("]") && !cur().isOp(",")) parts[2] = parseExpression(true);
    }
    return new SliceExpr(start.pos(), parts[0], parts[1], parts[2]);
  }

  private Args parseCallArgs() {
    expectOp("(");
    List<Expr> pos = new ArrayList<>();
    List<String> kwn = new ArrayList<>();
    List<Expr> kwv = new ArrayList<>();
    Expr star = null, starstar = null;
    boolean first = true;
    while (!cur().isOp(")")) {
      if (!first) {
        expectOp(",");
        if (cur().isOp(")")) break;
      }
      first = false;
      if (cur().isOp("*")) {
        next();
        star = parseExpression(true);
      } else if (cur().isOp("**")) {
        next();
        starstar = parseExpression(true);
      } else if (cur().type() == T.NAME && look().isOp("=")) {
        kwn.add(next().value());
        next();
        kwv.add(parseExpression(true));
      } else {
        if (!kwn.isEmpty() || star != null || starstar != null) throw fail("invalid syntax for function call expression", cur());
        pos.add(parseExpression(true));
      }
    }
    expectOp(")");
    return new Args(pos, kwn, kwv, star, starstar);
  }

  private Expr parseFilterExpr(Expr node) {
    while (true) {
      Token t = cur();
      if (t.isOp("|")) {
        next();
        node = parseFilterTail(node, t);
      } else if (t.isName("is")) {
        next();
        node = parseTestTail(node, t);
      } else if (t.isOp("(")) {
        node = new Call(t.pos(), node, parseCallArgs());
      } else {
        return node;
      }
    }
  }

  private Filter parseFilterTail(Expr node, Token at) {
    StringBuilder name = new StringBuilder(expectName());
    while (cur().isOp(".")) {
      next();
      name.append('.').append(expectName());
    }
    Args args = cur().isOp("(") ? parseCallArgs() : Args.NONE;
    return new Filter(at.pos(), node, name.toString(), args);
  }

  private Expr parseTestTail(Expr node, Token at) {
    boolean negated = skipName("not");
    StringBuilder name = new StringBuilder(expectName());
    while (cur().isOp(".")) {
      next();
      name.append('.').append(expectName());
    }
    Args args = Args.NONE;
    Token t = cur();
    if (t.isOp("(")) {
      args = parseCallArgs();
    } else if ((t.type() == T.NAME || t.type() == T.STRING || t.type() == T.INT || t.type() == T.FLOAT
            || t.isOp("(") || t.isOp("[") || t.isOp("{"))
        && !(t.isName("else") || t.isName("or") || t.isName("and"))) {
      if (t.isName("is")) throw fail("You cannot chain multiple tests with is", t);
      Expr arg = parsePostfix(parsePrimary());
      args = new Args(List.of(arg), List.of(), List.of(), null, null);
    }
    Expr test = new Test(at.pos(), node, name.toString(), args);
    return negated ? new Unary(at.pos(), "not", test) : test;
  }
}
