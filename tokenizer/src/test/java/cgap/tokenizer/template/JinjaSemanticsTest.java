package cgap.tokenizer.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.type.TypeReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Table-driven: each small template is rendered by this engine and by real Jinja2 (configured like
 * transformers); outputs must be byte-identical, and where Jinja2 raises, this engine must raise.
 */
class JinjaSemanticsTest {
  private static final String CTX = """
      {"messages": [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "Hi <there>"},
                    {"role": "assistant", "content": "<think>\\nhmm\\n</think>\\n\\nHello!"}, {"role": "user", "content": "Bye"}],
       "s": "Hello World", "n": 7, "f": 2.5, "neg": -3, "t": true, "none": null, "empty": "", "el": [], "ed": {},
       "l": [3, 1, 2], "words": ["b", "A", "c", "a"], "d": {"b": 2, "a": 1, "items": "x"},
       "people": [{"name": "Ann", "age": 30, "x": {"y": 1}}, {"name": "bob", "age": 25, "x": {"y": 2}}, {"name": "Cy", "age": 30}],
       "tools": [{"type": "function", "function": {"name": "get_w", "description": "Weather é \\"q\\"", "parameters": {"type": "object", "properties": {"loc": {"type": "string"}}, "required": ["loc"]}}}],
       "uni": "héllo wörld ☃ 😀", "ml": "line1\\n\\nline3\\n", "num_s": "42", "float_s": "3.75", "bad_s": "abc"}
      """;

  private static final List<String> CASES = List.of(
      // whitespace control, trim_blocks, lstrip_blocks
      "a\n{% if t %}\nyes\n{% endif %}\nb",
      "a\n  {% if t %}\n  yes\n  {% endif %}\nb",
      "a  {%- if t -%}  yes  {%- endif -%}  b",
      "a\n  {{ s }}  \n  {{- s -}}  \nz",
      "x {%+ if t %}y{% endif %} z",
      "{% if t %}   \n  a\n{%- endif %}\n\n",
      "  {# comment #}\nafter",
      "a {#- c -#} b\n{# c #}\nc",
      "{% raw %}{{ not parsed }}{% endraw %}\n",
      "{%- for m in messages %}\n  [{{ m.role }}]\n{%- endfor %}\n",
      "{% for x in l %}\n    {{ x }}\n{% endfor %}",
      "\t{% if t %}tab{% endif %}",
      "line\r\nnext\r\n{% if t %}x{% endif %}\r\n",
      // loop variables
      "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
      "{% for x in l %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }};{% endfor %}",
      "{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %}",
      "{% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}",
      "{% for x in el %}{{ x }}{% else %}empty{% endfor %}",
      "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
      "{% for k in d %}{{ k }}{% endfor %}",
      "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}",
      "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
      "{% for x in [1,2] %}{% for y in [3,4] %}{{ loop.index }}{{ x }}{{ y }} {% endfor %}{{ loop.index }}{% endfor %}",
      "{% for c in 'abc' %}{{ c }}{{ loop.index }}{% endfor %}",
      "{% for x in l %}{{ y }}{% set y = x %}{% endfor %}[{{ y }}]",
      "{% set y = 0 %}{% for x in l %}{% set y = y + x %}{{ y }}{% endfor %}[{{ y }}]",
      // set, namespace
      "{% set a, b = 1, 2 %}{{ a }}{{ b }}",
      "{% set ns = namespace(total=0, found=false) %}{% for x in l %}{% set ns.total = ns.total + x %}{% if x == 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.found }}",
      "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}",
      "{% set x %}  block {{ n }}  {% endset %}[{{ x }}]",
      "{% set x | upper | trim %}  block  {% endset %}[{{ x }}]",
      "{% set n.x = 1 %}",
      "{% set idx = (messages|length - 1) %}{{ idx }}",
      "{% set ns = namespace(last=-1) %}{% for m in messages[::-1] %}{% set i = (messages|length - 1) - loop.index0 %}{% if ns.last == -1 and m.role == 'user' %}{% set ns.last = i %}{% endif %}{% endfor %}{{ ns.last }}",
      // macro / call
      "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet('Cy', 'Yo') }}",
      "{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside {{ n }}{% endcall %}",
      "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3) }}",
      "{% macro render_tool(t) -%}\n  {{ t.function.name }}: {{ t.function.description }}\n{%- endmacro %}\n{% for t in tools %}{{ render_tool(t) }}\n{% endfor %}",
      // filters
      "{{ s|upper }} {{ s|lower }} {{ s|length }} {{ s|count }} {{ '  x  '|trim }} {{ 'xxaxx'|trim('x') }}",
      "{{ l|first }} {{ l|last }} {{ l|join(', ') }} {{ l|join }} {{ el|first }}|{{ s|first }}{{ s|last }}",
      "{{ s|replace('o', '0') }} {{ s|replace('l', 'L', 2) }} {{ none|default('dflt') }} {{ undefined_x|default('dflt') }} {{ empty|default('e', true) }} {{ empty|d('e') }}",
      "{{ tools|tojson }}",
      "{{ tools|tojson(indent=2) }}",
      "{{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ uni|tojson }} {{ f|tojson }} {{ none|tojson }} {{ [1.0, 1e20, 0.1, -0.0]|tojson }}",
      "{{ 'a\\tb\\u0001\\\\'|tojson }} {{ uni|tojson(ensure_ascii=true) }}",
      "{{ n|string }} {{ num_s|int + 1 }} {{ float_s|int }} {{ bad_s|int }} {{ bad_s|int(-1) }} {{ float_s|float }} {{ bad_s|float }} {{ f|int }} {{ t|int }} {{ '0x1A'|int(0, 16) }}",
      "{{ s|list }} {{ d|list }} {{ d|items|list }} {{ none_x|items|list }}",
      "{{ people|selectattr('age', 'equalto', 30)|map(attribute='name')|join(',') }} {{ people|rejectattr('age', '==', 30)|map(attribute='name')|list }}",
      "{{ people|selectattr('x')|list|length }} {{ people[:2]|map(attribute='x.y')|list }} {{ people|map(attribute='age', default=0)|list }} {{ people|map(attribute='zz', default=0)|list }}",
      "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ l|map('string')|join('-') }}",
      "{{ words|unique|list }} {{ words|unique(case_sensitive=true)|list }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ l|sort(reverse=true) }} {{ people|sort(attribute='age')|map(attribute='name')|list }}",
      "{{ l|reverse|list }} {{ s|reverse }} {{ s|safe }} {{ '<a href=\"x\">&\\'</a>'|escape }} {{ '<b>'|e }}",
      "{{ 'hello wORLD'|capitalize }} {{ 'hello wORLD-foo (bar) [baz]'|title }} {{ \"they're bill's\"|title }}",
      "{{ ml|indent }}|{{ ml|indent(2, true) }}|{{ ml|indent(width='> ', first=true, blank=true) }}",
      "{{ 'one two  three'|wordcount }} [{{ 'ab'|center(7) }}] [{{ 'abc'|center(8) }}]",
      "{{ neg|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 7|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }}",
      "{{ l|sum }} {{ people|sum(attribute='age') }} {{ l|min }} {{ l|max }} {{ words|min }} {{ words|max }} {{ people|max(attribute='age')|tojson }} {{ el|max }}",
      "{% for b in l|batch(2) %}{{ b }}{% endfor %} {% for b in l|batch(2, 'x') %}{{ b }}{% endfor %}",
      "{{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }}",
      "{{ '%s and %d'|format('a', 3) }} {{ '%05.2f'|format(f) }}",
      "{{ l|length }} {{ d|length }} {{ undefined_x|length }} {{ uni|length }}",
      // tests
      "{{ n is defined }} {{ nope is defined }} {{ nope is undefined }} {{ none is none }} {{ n is none }} {{ n is not none }}",
      "{{ s is string }} {{ n is string }} {{ n is number }} {{ f is number }} {{ t is number }} {{ n is integer }} {{ f is integer }} {{ t is integer }} {{ f is float }} {{ t is boolean }} {{ n is boolean }}",
      "{{ d is mapping }} {{ l is mapping }} {{ l is iterable }} {{ s is iterable }} {{ n is iterable }} {{ l is sequence }} {{ s is sequence }} {{ d is sequence }} {{ n is sequence }} {{ nope is sequence }}",
      "{{ t is true }} {{ t is false }} {{ 1 is true }} {{ false is false }} {{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }}",
      "{{ n is equalto 7 }} {{ n is eq 7 }} {{ n is ne 8 }} {{ 'a' is in 'cat' }} {{ 3 is in l }} {{ n is gt 3 }} {{ n is lt 3 }} {{ n is ge 7 }} {{ s is lower }} {{ 'ab' is lower }}",
      "{{ greet is callable }}{{ range is callable }} {{ 'trim' is filter }} {{ 'odd' is test }} {{ 'nope' is filter }}",
      // expressions
      "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 2 ** -1 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
      "{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -n }} {{ +n }} {{ - - n }} {{ 1 + 2.5 }} {{ t + 1 }} {{ 0.1 + 0.2 }} {{ 1e3 }} {{ 1.5e-7 }} {{ 10 ** 15 / 3 }}",
      "{{ 'a' ~ 1 ~ none ~ t ~ nope ~ 2.0 }} {{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ [0] * 3 }}",
      "{{ 'a' + 1 }}",
      "{{ nope + 1 }}",
      "{{ 1 / 0 }}",
      "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1] == (1,) }} {{ t == 1 }}",
      "{{ 1 < 'a' }}",
      "{{ 'b' in 'abc' }} {{ 'z' not in 'abc' }} {{ 2 in l }} {{ 'a' in d }} {{ 'zz' in d }} {{ not t }} {{ not none }} {{ t and 'x' }} {{ none or 'y' }} {{ empty or el or 0 }} {{ 0 and 1 }}",
      "{{ 'yes' if t else 'no' }} {{ 'yes' if none else 'no' }} [{{ 'yes' if none }}] {{ 'a' if false else 'b' if t else 'c' }}",
      "{{ [1, 'a', none, true, 2.5] }} {{ (1,) }} {{ () }} {{ {'a': [1, {'b': none}]} }} {{ {} }} {{ [] }} {{ none }} {{ t }} {{ \"it's\" }} {{ ['it\\'s', 'a\"b', 'both\\'\"', 'nl\\n', 'é☃😀'] }}",
      "{{ d.a }} {{ d['b'] }} {{ d.items is callable }} {{ d['items'] }} {{ d.zz }}|{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d.keys()|list }} {{ d.values()|list }}",
      "{{ l[0] }} {{ l[-1] }} {{ l[5] }}|{{ l.0 }} {{ s[0] }} {{ s[-1] }} {{ uni[-1] }} {{ messages[0].role }} {{ messages[0]['content'] }}",
      "{{ l[1:] }} {{ l[:1] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[::2] }} {{ l[5:] }} {{ s[1:4] }} {{ s[::-1] }} {{ uni[::-1] }} {{ l[-100:100] }} {{ l[2:0:-1] }}",
      "{{ nope.attr }}",
      "{{ nope['x'] }}",
      "{{ d.zz.yy }}",
      "{{ none.x }}|{{ n.x }}|{{ s.x }}",
      "{{ nope }}|{{ nope|string }}|{% if nope %}t{% else %}f{% endif %}|{% for x in nope %}{{ x }}{% endfor %}|{{ nope|default('x') }}|{{ nope == nope }}|{{ nope|trim }}|{{ nope|join(',') }}",
      "{{ d|tojson }} {{ nope|tojson }}",
      // string methods
      "[{{ '  x y  '.strip() }}] [{{ '  x  '.lstrip() }}] [{{ '  x  '.rstrip() }}] [{{ '\\n\\nx\\n'.strip('\\n') }}] [{{ 'xyxhixy'.strip('xy') }}]",
      "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ '  a  b c '.split(none, 1) }} {{ 'a</think>b</think>c'.split('</think>')[-1] }}",
      "{{ s.startswith('Hell') }} {{ s.startswith(('x', 'H')) }} {{ s.endswith('ld') }} {{ s.upper() }} {{ s.lower() }} {{ s.replace('l', '_') }} {{ s.replace('l', '_', 1) }} {{ 'hello big-world'.title() }} {{ \"they're\".title() }} {{ 'aBC'.capitalize() }}",
      "{{ '{} and {}'.format('a', 'b') }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='z') }} {{ '{{}}'.format() }}",
      "{{ '-'.join(['a', 'b']) }} {{ s.find('o') }} {{ s.count('l') }} {{ '42'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }} {{ 'x'.zfill(3) }} {{ 'a\\nb\\r\\nc'.splitlines() }}",
      "{{ l.append(4) }}",
      "{{ d.update({'c': 3}) }}",
      "{{ l.index(2) }} {{ l.count(3) }}",
      // globals
      "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }} {% for i in range(2) %}{{ i }}{% endfor %}",
      "{{ dict(a=1, b='x') }} {{ dict(a=1).a }} {{ namespace(a=1).a }}",
      "{{ raise_exception('custom failure: ' ~ n) }}",
      "before{% if n > 5 %}{{ raise_exception('too big') }}{% endif %}after",
      "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %I%p %y %-d %e') }}",
      // Qwen3-style reasoning split
      "{% for m in messages %}{% if m.role == 'assistant' and '</think>' in m.content %}{{ m.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}|{{ m.content.split('</think>')[-1].lstrip('\\n') }}{% endif %}{% endfor %}",
      // with, filter block, generation
      "{% with a = 1, b = n %}{{ a + b }}{% endwith %}{{ a }}",
      "{% filter upper %}hello {{ s }}{% endfilter %}",
      "{% generation %}gen {{ n }}{% endgeneration %}",
      "{% if n == 7 %}a{% elif n == 8 %}b{% else %}c{% endif %}{% if n == 8 %}a{% elif n == 7 %}b{% else %}c{% endif %}{% if false %}a{% elif false %}b{% else %}c{% endif %}",
      "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content']|trim %}{% set rest = messages[1:] %}{% else %}{% set sys = '' %}{% set rest = messages %}{% endif %}[{{ sys }}]{{ rest|length }}",
      "{{ 'multi\nline' }}{{ \"esc \\x41\\u00e9\\101 \\q\" }} {{ 'adj' 'acent' }}",
      "{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|map(attribute='role')|unique|list }}",
      "{{ (messages|last).content }} {{ messages[-1]['content'] }} {{ (messages|first)['role'] }}",
      "{{ 3.0 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 123456789.123 }} {{ 1/3 }} {{ 2.5e-5 * 2 }} {{ 1_000 }}",
      "{{ '%s'|format(l) }} {{ l|string }} {{ d|string }} {{ (1, 'a')|string }} {{ none|string }} {{ t|string|upper }}",
      // more edge cases
      "{{ 'a' if nope is defined else 'b' }} {{ nope is not defined }} {{ (nope or 'x') }} {{ nope | default(none) is none }}",
      "{% for m in messages %}{% if loop.changed(m.role) %}C{% else %}-{% endif %}{% endfor %}",
      "{{ messages | map(attribute='content') | map('trim') | join('|') }} {{ messages | map(attribute='role') | map('upper') | list }}",
      "{{ [3, 1, 2] | sort | first }} {{ 'abc' | list | reverse | join }} {{ 'x' * 0 }}|{{ l[1:-1] }} {{ d | items | list }}",
      "{% set ns = namespace(a=1) %}{% macro f() %}{% set ns.a = 5 %}{% endmacro %}{{ f() }}{{ ns.a }} {{ ns }}",
      "{{ '%s' % none }} {{ '%d items' % 3 }} {{ '%(a)s-%(b)r' % {'a': 1, 'b': 'q'} }} {{ '%5s|%-5s|' % ('ab', 'cd') }} {{ '%.2f' % 3.14159 }} {{ '100%%' % () }}",
      "{% set x = [] %}{{ x is sequence }} {{ 1 ~ 2.0 ~ none }} {{ none | string | length }} {{ 10 / 4 }} {{ 2 ** 0.5 }} {{ 1e300 * 1e10 }} {{ -0.0 }} {{ 0.1 * 3 }}",
      "{{ 5 // 0.0 }}",
      "{% set a = 1 %}{% macro m() %}{{ a }}{% endmacro %}{% set a = 2 %}{{ m() }}",
      "{{ m() }}{% macro m() %}x{% endmacro %}",
      "[{{ loop.index }}]{% for x in l %}{% endfor %}[{{ x }}]",
      "{% for x in l %}{% set nsx.a = x %}{% endfor %}",
      "{{ d | dictsort | first }} {{ d | tojson(indent='\\t') }} {{ [1, 2] | tojson(separators=(',', ':')) }} {{ '\\u2028<>&\\'' | tojson }}",
      "{% set x = namespace() %}{% set x.y = 1 %}{{ x.y }} {{ messages[0] }} {{ 'abc'[5] }}|",
      "{{ 'a' in none }}",
      "{{ l | join(d='-') }} {{ true + true }} {{ 1 == true }} {{ 'A' < 'a' }} {{ none == none }} {{ 'x' | replace('', '-') }} {{ 'aaa' | replace('a', 'b', 2) }}",
      "{{ 3 is divisibleby 0 }}",
      "{{ none < 1 }}",
      "{% set x %}{% endset %}[{{ x }}]",
      "{{ 'a' }} {# c #} {{ 'b' }}\n  {# own line #}\n{{ 'c' }}",
      "  {%- if true %}x{% endif %}\n\n",
      "{%- macro m() -%}  x  {%- endmacro -%}\n[{{ m() }}]",
      "{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %} {{ {'b': 1, 'a': 2} | list }}",
      "{% if true %}\n    {% if true %}\n        deep\n    {% endif %}\n{% endif %}\nend",
      "a{{- '' -}}\n\n  b  {{- ' c ' }}\n{%- for x in [1] %} {{ x }} {% endfor -%}\n z",
      "{% for x in [1, 2] -%}\n  {{ x }}\n{%- endfor %}|{% for x in [1, 2] %}\n  {{- x -}}\n{% endfor %}|",
      "{%- set content = '  spaced  ' -%}\n{{- content | trim -}}\n{{ '\\n' }}",
      "{% set l2 = l + [4] %}{{ l2 }}{{ l }} {{ (l | list).__class__ }}|{{ l._x }}|",
      "{{ 'ß'|upper }} {{ 'ÀÉ'|lower }} {{ 'straße'.title() }} {{ 'a\\u00a0b c'.split() }} {{ '\\u00a0x\\u3000'.strip() }}",
      "{{ [1, 2, 3] | select('greaterthan', 1) | list }} {{ [1, 2, 3] | reject('equalto', 2) | list }} {{ people | selectattr('age', 'ge', 30) | map(attribute='name') | list }} {{ ['a', 'bb'] | map('length') | list }}",
      "{{ people | map(attribute='name') | map('lower') | sort | join(',') }} {{ people | map(attribute='x') | list | length }}",
      "{{ range(0) | list }} {{ range(3)[1] }} {{ range(10)[2:5] | list }} {{ (range(3) | list)[-1] }}",
      "{{ ({'a': 1}).items() | list }} {{ {'a': {'b': [1, {'c': 2}]}}.a.b[1].c }} {{ {1: 'x'}[1] }} {{ {'1': 'y'}['1'] }} {{ {1.0: 'z'}[1] }}",
      "{{ '  a\\n b  '.splitlines() }} {{ 'a,b'.partition(',') }} {{ 'x'.center(5, '*') }} {{ 'ab'.ljust(4) }}| {{ 'ab'.rjust(4, '0') }} {{ 'Hello'.swapcase() }} {{ 'abcabc'.rfind('b') }} {{ 'abc'.removeprefix('a') }}",
      "{{ [1, 2] == [1, 2] }} {{ [1, 2] != [2, 1] }} {{ {'a': 1} == {'a': 1.0} }} {{ (1, 2) < (1, 3) }} {{ 'ab' in ['ab', 'c'] }} {{ [1] in [[1], 2] }} {{ none in [none] }}",
      "{{ tools[0].function.parameters | tojson }} {{ tools[0]['function']['parameters']['properties'] | list }} {{ tools | map(attribute='function.name') | list }}",
      "{% for t in tools %}{% for k, v in t.function.items() if k != 'description' %}{{ k }}:{{ v is mapping }};{% endfor %}{% endfor %}",
      "{{ (messages | selectattr('role', 'in', ['user', 'system']) | list | length) }} {{ messages | rejectattr('content') | list | length }} {{ messages | selectattr('role', 'defined') | list | length }}",
      "{% set ns = namespace(found=false) %}{% for m in messages if m.role == 'assistant' %}{% set ns.found = true %}{{ loop.index }}/{{ loop.length }}{% endfor %}{{ ns.found }}",
      "{%- for message in messages %}{%- if loop.index0 == 0 and message.role != 'system' %}X{%- elif message.role == 'system' %}{{ message.content | trim }}|{%- endif %}{%- endfor %}",
      // syntax errors must be errors on both sides
      "{% if t %}unclosed",
      "{% for x in %}{% endfor %}",
      "{{ 1 + }}",
      "{% endif %}",
      "{% unknowntag %}",
      "{{ l|nosuchfilter }}",
      "{{ n is nosuchtest }}");

  @TestFactory
  Stream<DynamicTest> matchesJinja2() throws Exception {
    Map<String, Object> ctx = JinjaReference.JSON.readValue(CTX, new TypeReference<Map<String, Object>>() {});
    String now = "2024-07-26T09:05:03";
    List<JinjaReference.Request> reqs = new ArrayList<>();
    for (String c : CASES) reqs.add(new JinjaReference.Request(c, ctx, now));
    List<JinjaReference.Result> ref = JinjaReference.render(reqs);
    List<DynamicTest> tests = new ArrayList<>();
    long okCount = ref.stream().filter(JinjaReference.Result::ok).count();
    for (int i = 0; i < ref.size(); i++) if (!ref.get(i).ok()) System.out.println("  raises " + i + ": " + ref.get(i).type() + ": " + ref.get(i).error());
    System.out.println("JinjaSemanticsTest: " + okCount + " of " + CASES.size() + " templates render in Jinja2; the rest raise");
    tests.add(DynamicTest.dynamicTest("most cases render (the table is not mostly errors)",
        () -> org.junit.jupiter.api.Assertions.assertTrue(okCount * 10 >= CASES.size() * 8, okCount + " of " + CASES.size())));
    for (int i = 0; i < CASES.size(); i++) {
      String tpl = CASES.get(i);
      JinjaReference.Result r = ref.get(i);
      String name = String.format("%03d %s", i, tpl.length() > 70 ? tpl.substring(0, 70) : tpl).replace('\n', '⏎');
      tests.add(DynamicTest.dynamicTest(name, () -> {
        if (r.ok()) {
          String got = ChatTemplate.renderRaw(tpl, ctx, ChatTemplate.parseNow(now));
          assertEquals(r.output(), got, () -> "template: " + tpl);
        } else {
          TemplateException e = assertThrows(TemplateException.class,
              () -> ChatTemplate.renderRaw(tpl, ctx, ChatTemplate.parseNow(now)),
              () -> "Jinja2 raised " + r.type() + ": " + r.error() + " for template: " + tpl);
          if ("TemplateError".equals(r.type())) assertEquals(r.error(), e.reason());
        }
      }));
    }
    return tests.stream();
  }
}
