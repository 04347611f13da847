package cgap.tokenizer.template;

import cgap.tokenizer.template.Node.*;
import cgap.tokenizer.template.Py.Fn;
import cgap.tokenizer.template.Py.Namespace;
import cgap.tokenizer.template.Py.PyError;
import cgap.tokenizer.template.Py.Tuple;
import cgap.tokenizer.template.Py.Undefined;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Evaluates a parsed template with Jinja2 semantics (ImmutableSandboxedEnvironment). */
final class Interp {
  final Lexer lexer;
  final Map<String, Object> globals;

  Interp(Lexer lexer, Map<String, Object> globals) {
    this.lexer = lexer;
    this.globals = globals;
  }

  static final class Scope {
    final Scope parent;
    final Map<String, Object> vars = new HashMap<>();

    Scope(Scope parent) {
      this.parent = parent;
    }
  }

  private static final class BreakSignal extends RuntimeException {
    BreakSignal() {
      super(null, null, false, false);
    }
  }

  private static final class ContinueSignal extends RuntimeException {
    ContinueSignal() {
      super(null, null, false, false);
    }
  }

  private static final BreakSignal BREAK = new BreakSignal();
  private static final ContinueSignal CONTINUE = new ContinueSignal();

  String render(List<Node> body, Map<String, Object> context) {
    Scope root = new Scope(null);
    root.vars.putAll(context);
    StringBuilder out = new StringBuilder();
    exec(body, root, out);
    return out.toString();
  }

  TemplateException error(PyError e, int at) {
    if (e.type.equals("TemplateError")) return new TemplateException(e.getMessage(), lexer.line(at), lexer.column(at), e);
    return new TemplateException(e.type + ": " + e.getMessage(), lexer.line(at), lexer.column(at), e);
  }

  // ------------------------------------------------------------------ statements
  void exec(List<Node> nodes, Scope s, StringBuilder out) {
    for (Node n : nodes) {
      try {
        execOne(n, s, out);
      } catch (PyError e) {
        throw error(e, n.at());
      }
    }
  }

  private void execOne(Node n, Scope s, StringBuilder out) {
    switch (n) {
      case Text t -> out.append(t.text());
      case Output o -> {
        Object v = eval(o.expr(), s);
        if (!(v instanceof Undefined)) out.append(Py.str(v));
      }
      case If f -> {
        for (int i = 0; i < f.tests().size(); i++) {
          if (Py.truthy(eval(f.tests().get(i), s))) {
            exec(f.bodies().get(i), s, out);
            return;
          }
        }
        exec(f.otherwise(), s, out);
      }
      case For f -> execFor(f, s, out);
      case Node.Set st -> assign(st.target(), eval(st.value(), s), s);
      case SetBlock sb -> {
        StringBuilder buf = new StringBuilder();
        exec(sb.body(), new Scope(s), buf);
        Object v = buf.toString();
        for (Filter f : sb.filters()) v = applyFilter(f, v, s);
        assign(sb.target(), v, s);
      }
      case Node.Macro m -> s.vars.put(m.name(), new MacroFn(m.name(), m.params(), m.defaults(), m.body(), s));
      case CallBlock cb -> {
        MacroFn caller = new MacroFn("caller", cb.params(), cb.defaults(), cb.body(), s);
        Object fn = eval(cb.call().fn(), s);
        List<Object> args = new ArrayList<>();
        Map<String, Object> kw = new LinkedHashMap<>();
        evalArgs(cb.call().args(), s, args, kw);
        kw.put("caller", caller);
        Object v = callValue(fn, args, kw);
        if (!(v instanceof Undefined)) out.append(Py.str(v));
      }
      case FilterBlock fb -> {
        StringBuilder buf = new StringBuilder();
        exec(fb.body(), new Scope(s), buf);
        Object v = buf.toString();
        for (Filter f : fb.filters()) v = applyFilter(f, v, s);
        out.append(Py.str(v));
      }
      case With w -> {
        Scope inner = new Scope(s);
        for (int i = 0; i < w.targets().size(); i++) assign(w.targets().get(i), eval(w.values().get(i), s), inner);
        exec(w.body(), inner, out);
      }
      case Generation g -> exec(g.body(), new Scope(s), out);
      case Break b -> throw BREAK;
      case Continue c -> throw CONTINUE;
      default -> throw new IllegalStateException("unknown node " + n);
    }
  }

  private void execFor(For f, Scope s, StringBuilder out) {
    Object iterable = eval(f.iter(), s);
    List<Object> items = Py.iterate(iterable);
    if (f.filter() != null) {
      List<Object> kept = new ArrayList<>();
      for (Object item : items) {
        Scope fs = new Scope(s);
        assign(f.target(), item, fs);
        if (Py.truthy(eval(f.filter(), fs))) kept.add(item);
      }
      items = kept;
    }
    if (items.isEmpty()) {
      exec(f.otherwise(), s, out);
      return;
    }
    LoopCtx loop = new LoopCtx(items, 1);
    for (int i = 0; i < items.size(); i++) {
      loop.index0 = i;
      Scope it = new Scope(s);
      assign(f.target(), items.get(i), it);
      it.vars.put("loop", loop);
      try {
        exec(f.body(), it, out);
      } catch (BreakSignal b) {
        break;
      } catch (ContinueSignal c) {
        // next item
      }
    }
  }

  private void assign(Target t, Object v, Scope s) {
    switch (t) {
      case NameTarget n -> s.vars.put(n.name(), v);
      case NsTarget ns -> {
        Object o = lookup(ns.name(), s);
        if (!(o instanceof Namespace n)) throw new PyError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
        n.attrs.put(ns.attr(), v);
      }
      case TupleTarget tt -> {
        List<Object> vals = Py.iterate(v);
        if (vals.size() != tt.items().size()) {
          throw new PyError("ValueError", vals.size() < tt.items().size()
              ? "not enough values to unpack (expected " + tt.items().size() + ", got " + vals.size() + ")"
              : "too many values to unpack (expected " + tt.items().size() + ")");
        }
        for (int i = 0; i < vals.size(); i++) assign(tt.items().get(i), vals.get(i), s);
      }
      default -> throw new IllegalStateException();
    }
  }

  Object lookup(String name, Scope s) {
    for (Scope c = s; c != null; c = c.parent) {
      Object v = c.vars.get(name);
      if (v != null || c.vars.containsKey(name)) return v;
    }
    if (globals.containsKey(name)) return globals.get(name);
    return new Undefined("'" + name + "' is undefined");
  }

  // ------------------------------------------------------------------ loop and macro objects
  final class LoopCtx {
    final List<Object> items;
    final int depth;
    int index0;
    Object lastChanged = NOTHING;

    LoopCtx(List<Object> items, int depth) {
      this.items = items;
      this.depth = depth;
    }

    Object attr(String name) {
      int n = items.size();
      return switch (name) {
        case "index" -> (long) index0 + 1;
        case "index0" -> (long) index0;
        case "revindex" -> (long) (n - index0);
        case "revindex0" -> (long) (n - index0 - 1);
        case "first" -> index0 == 0;
        case "last" -> index0 == n - 1;
        case "length" -> (long) n;
        case "depth" -> (long) depth;
        case "depth0" -> (long) depth - 1;
        case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
        case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
        case "cycle" -> (Fn) (args, kw) -> {
          if (args.isEmpty()) throw Py.typeError("no items for cycling given");
          return args.get(index0 % args.size());
        };
        case "changed" -> (Fn) (args, kw) -> {
          Object v = new Tuple(new ArrayList<>(args));
          if (lastChanged == NOTHING || !Py.eq(lastChanged, v)) {
            lastChanged = v;
            return true;
          }
          return false;
        };
        default -> new Undefined("'LoopContext' object has no attribute '" + name + "'");
      };
    }

    @Override
    public String toString() {
      return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
    }
  }

  private static final Object NOTHING = new Object();

  final class MacroFn implements Fn {
    final String name;
    final List<String> params;
    final List<Expr> defaults;
    final List<Node> body;
    final Scope scope;

    MacroFn(String name, List<String> params, List<Expr> defaults, List<Node> body, Scope scope) {
      this.name = name;
      this.params = params;
      this.defaults = defaults;
      this.body = body;
      this.scope = scope;
    }

    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      Scope ms = new Scope(scope);
      Map<String, Object> kw = new LinkedHashMap<>(kwargs);
      int firstDefault = params.size() - defaults.size();
      for (int i = 0; i < params.size(); i++) {
        String p = params.get(i);
        if (i < args.size()) {
          ms.vars.put(p, args.get(i));
        } else if (kw.containsKey(p)) {
          ms.vars.put(p, kw.remove(p));
        } else if (i >= firstDefault) {
          ms.vars.put(p, eval(defaults.get(i - firstDefault), ms));
        } else {
          ms.vars.put(p, new Undefined("parameter '" + p + "' was not provided"));
        }
      }
      if (kw.containsKey("caller")) ms.vars.put("caller", kw.remove("caller"));
      ms.vars.put("varargs", args.size() > params.size() ? new Tuple(new ArrayList<>(args.subList(params.size(), args.size()))) : new Tuple(List.of()));
      ms.vars.put("kwargs", new LinkedHashMap<Object, Object>(kw));
      StringBuilder buf = new StringBuilder();
      exec(body, ms, buf);
      return buf.toString();
    }

    @Override
    public String toString() {
      return "<Macro '" + name + "'>";
    }
  }

  // ------------------------------------------------------------------ expressions
  Object eval(Expr e, Scope s) {
    try {
      return evalInner(e, s);
    } catch (PyError err) {
      throw error(err, e.at());
    }
  }

  private Object evalInner(Expr e, Scope s) {
    switch (e) {
      case Const c -> {
        return c.value();
      }
      case Name n -> {
        return lookup(n.name(), s);
      }
      case GetAttr g -> {
        return Builtins.getattr(this, eval(g.obj(), s), g.attr());
      }
      case GetItem g -> {
        Object obj = eval(g.obj(), s);
        if (g.key() instanceof SliceExpr sl) {
          if (obj instanceof Undefined u) throw u.fail();
          return Builtins.slice(obj, evalOpt(sl.start(), s), evalOpt(sl.stop(), s), evalOpt(sl.step(), s));
        }
        return Builtins.getitem(this, obj, eval(g.key(), s));
      }
      case Call c -> {
        Object fn = eval(c.fn(), s);
        List<Object> args = new ArrayList<>();
        Map<String, Object> kw = new LinkedHashMap<>();
        evalArgs(c.args(), s, args, kw);
        return callValue(fn, args, kw);
      }
      case Filter f -> {
        return applyFilter(f, eval(f.value(), s), s);
      }
      case Test t -> {
        Object v = eval(t.value(), s);
        List<Object> args = new ArrayList<>();
        Map<String, Object> kw = new LinkedHashMap<>();
        evalArgs(t.args(), s, args, kw);
        return Builtins.test(this, t.name(), v, args, kw);
      }
      case Unary u -> {
        Object v = eval(u.operand(), s);
        return switch (u.op()) {
          case "not" -> !Py.truthy(v);
          case "-" -> Py.neg(v);
          default -> Py.pos(v);
        };
      }
      case Binary b -> {
        if (b.op().equals("and")) {
          Object l = eval(b.left(), s);
          return Py.truthy(l) ? eval(b.right(), s) : l;
        }
        if (b.op().equals("or")) {
          Object l = eval(b.left(), s);
          return Py.truthy(l) ? l : eval(b.right(), s);
        }
        Object l = eval(b.left(), s);
        Object r = eval(b.right(), s);
        return switch (b.op()) {
          case "+" -> Py.add(l, r);
          case "-" -> Py.sub(l, r);
          case "*" -> Py.mul(l, r);
          case "/" -> Py.div(l, r);
          case "//" -> Py.floordiv(l, r);
          case "%" -> Py.mod(l, r);
          case "**" -> Py.pow(l, r);
          case "~" -> Py.str(l) + Py.str(r);
          default -> throw new IllegalStateException(b.op());
        };
      }
      case Compare c -> {
        Object left = eval(c.first(), s);
        for (int i = 0; i < c.ops().size(); i++) {
          Object right = eval(c.rest().get(i), s);
          if (!compareOp(c.ops().get(i), left, right)) return false;
          left = right;
        }
        return true;
      }
      case CondExpr c -> {
        if (Py.truthy(eval(c.test(), s))) return eval(c.then(), s);
        if (c.otherwise() == null) return new Undefined("the inline if-expression evaluated to false and no else section was defined.");
        return eval(c.otherwise(), s);
      }
      case ListLit l -> {
        List<Object> r = new ArrayList<>();
        for (Expr x : l.items()) r.add(eval(x, s));
        return r;
      }
      case TupleLit l -> {
        List<Object> r = new ArrayList<>();
        for (Expr x : l.items()) r.add(eval(x, s));
        return new Tuple(r);
      }
      case DictLit d -> {
        Map<Object, Object> r = new LinkedHashMap<>();
        for (int i = 0; i < d.keys().size(); i++) {
          Object k = eval(d.keys().get(i), s);
          if (k instanceof List || k instanceof Map || k instanceof Undefined) throw Py.typeError("unhashable type: '" + Py.typeName(k) + "'");
          Object existing = Py.findKey(r, k);
          r.put(existing == Py.NO_KEY ? k : existing, eval(d.values().get(i), s));
        }
        return r;
      }
      case SliceExpr sl -> throw Py.typeError("slice outside subscript");
      default -> throw new IllegalStateException("unknown expression " + e);
    }
  }

  private Object evalOpt(Expr e, Scope s) {
    return e == null ? null : eval(e, s);
  }

  private static boolean compareOp(String op, Object l, Object r) {
    return switch (op) {
      case "==" -> Py.eq(l, r);
      case "!=" -> !Py.eq(l, r);
      case "<" -> Py.compare(l, r, "<") < 0;
      case "<=" -> Py.compare(l, r, "<=") <= 0;
      case ">" -> Py.compare(l, r, ">") > 0;
      case ">=" -> Py.compare(l, r, ">=") >= 0;
      case "in" -> Py.contains(r, l);
      case "notin" -> !Py.contains(r, l);
      default -> throw new IllegalStateException(op);
    };
  }

  void evalArgs(Args a, Scope s, List<Object> args, Map<String, Object> kw) {
    for (Expr x : a.positional()) args.add(eval(x, s));
    for (int i = 0; i < a.kwNames().size(); i++) kw.put(a.kwNames().get(i), eval(a.kwValues().get(i), s));
    if (a.starArgs() != null) args.addAll(Py.iterate(eval(a.starArgs(), s)));
    if (a.starKwargs() != null) {
      Object m = eval(a.starKwargs(), s);
      if (!(m instanceof Map<?, ?> map)) throw Py.typeError("argument after ** must be a mapping, not " + Py.typeName(m));
      for (Map.Entry<?, ?> en : map.entrySet()) kw.put(Py.str(en.getKey()), en.getValue());
    }
  }

  Object callValue(Object fn, List<Object> args, Map<String, Object> kw) {
    if (fn instanceof Fn f) return f.call(args, kw);
    if (fn instanceof Undefined u) throw u.fail();
    throw Py.typeError("'" + Py.typeName(fn) + "' object is not callable");
  }

  Object applyFilter(Filter f, Object value, Scope s) {
    List<Object> args = new ArrayList<>();
    Map<String, Object> kw = new LinkedHashMap<>();
    evalArgs(f.args(), s, args, kw);
    return Builtins.filter(this, f.name(), value, args, kw);
  }
}
