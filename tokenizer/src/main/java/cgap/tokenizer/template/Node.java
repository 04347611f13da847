package cgap.tokenizer.template;

import java.util.List;

/** Template syntax tree. {@code at} is the source offset used for error locations. */
interface Node {
  int at();

  // ---- expressions
  interface Expr extends Node {}

  record Const(int at, Object value) implements Expr {}

  record Name(int at, String name) implements Expr {}

  record GetAttr(int at, Expr obj, String attr) implements Expr {}

  record GetItem(int at, Expr obj, Expr key) implements Expr {}

  record SliceExpr(int at, Expr start, Expr stop, Expr step) implements Expr {}

  record Args(List<Expr> positional, List<String> kwNames, List<Expr> kwValues, Expr starArgs, Expr starKwargs) {
    static final Args NONE = new Args(List.of(), List.of(), List.of(), null, null);
  }

  record Call(int at, Expr fn, Args args) implements Expr {}

  record Filter(int at, Expr value, String name, Args args) implements Expr {}

  record Test(int at, Expr value, String name, Args args) implements Expr {}

  record Unary(int at, String op, Expr operand) implements Expr {}

  record Binary(int at, String op, Expr left, Expr right) implements Expr {}

  record Compare(int at, Expr first, List<String> ops, List<Expr> rest) implements Expr {}

  record CondExpr(int at, Expr test, Expr then, Expr otherwise) implements Expr {}

  record ListLit(int at, List<Expr> items) implements Expr {}

  record TupleLit(int at, List<Expr> items) implements Expr {}

  record DictLit(int at, List<Expr> keys, List<Expr> values) implements Expr {}

  // ---- assignment targets
  interface Target {}

  record NameTarget(String name) implements Target {}

  record NsTarget(String name, String attr) implements Target {}

  record TupleTarget(List<Target> items) implements Target {}

  // ---- statements
  record Text(int at, String text) implements Node {}

  record Output(int at, Expr expr) implements Node {}

  record If(int at, List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

  record For(int at, Target target, Expr iter, Expr filter, List<Node> body, List<Node> otherwise, boolean recursive) implements Node {}

  record Set(int at, Target target, Expr value) implements Node {}

  record SetBlock(int at, Target target, List<Filter> filters, List<Node> body) implements Node {}

  record Macro(int at, String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

  record CallBlock(int at, Call call, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

  record FilterBlock(int at, List<Filter> filters, List<Node> body) implements Node {}

  record With(int at, List<Target> targets, List<Expr> values, List<Node> body) implements Node {}

  /** transformers' {% generation %} block: renders its body in a scope of its own. */
  record Generation(int at, List<Node> body) implements Node {}

  record Break(int at) implements Node {}

  record Continue(int at) implements Node {}
}
