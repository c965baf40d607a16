// strings.render_template through the wasm path renders what OPA's Go evaluator (Go's text/template) renders.
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';

const render = (template: string, vars: object) => `strings.render_template(${JSON.stringify(template)}, ${JSON.stringify(vars)})`;
const data = { s: 'x', n: 5, zero: 0, f: 1.5, xs: ['a', 'b', 'c'], empty: [], m: { b: [1, 2], a: null, c: { d: 'e' } }, t: true, no: false, html: '<a href="x">&</a>' };

t.test('text/template as Go renders it', async (t) => {
  await agreeWithGo(t, [
    render('{{.s}} {{.n}} {{.f}} {{.t}} {{.xs}} {{.m}} {{.empty}}', data),
    render('{{.missing}} {{.m.a}} {{.m.c.d}} {{.m.nope.deeper}}', data),
    render('{{if .zero}}zero is true{{else}}zero is false{{end}} {{if .empty}}e{{else}}no e{{end}} {{if .no}}n{{else if .t}}t{{end}}', data),
    render('{{range $i, $x := .xs}}{{if $i}}, {{end}}{{$i}}={{$x}}{{end}}|{{range .empty}}x{{else}}none{{end}}|{{range $k, $v := .m}}{{$k}}{{end}}', data),
    render('{{range .xs}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}|{{range .xs}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}|{{range 3}}{{.}}{{end}}', data),
    render('{{with .m.c}}{{.d}}{{end}} {{with .missing}}w{{else}}none{{end}} {{with $x := .s}}{{$x}}{{$}}{{end}}', { ...data, m: { c: { d: 'e' } } }),
    render('{{- " a " -}} | {{- .s }} |{{ .s -}} | {{/* a comment */}} {{- /* trimmed */ -}} .', data),
    render('{{len .xs}} {{len .s}} {{len .m}} {{index .xs 1}} {{index .m "b" 0}} {{slice "abcdef" 1 3}}', data),
    render('{{printf "%s|%5s|%-4s|%q|%v|%d" .s .s .s .s .n 42}} {{printf "%.2f %x %t" 3.14159 255 true}}', data),
    render('{{print 1 2 "a" 3 .s}} {{println "a" 1}}{{print nil}} {{print .xs .m}}', data),
    render('{{and 1 0 2}} {{or 0 "" "z"}} {{not .t}} {{and .s .n}} {{or .missing .s}}', data),
    render('{{eq 1 1}} {{eq 1 2 1}} {{ne "a" "b"}} {{lt 1 2}} {{le 2.5 2.5}} {{gt "b" "a"}} {{ge 3 4}} {{eq .t true}}', data),
    render('{{html .html}} {{js .html}} {{urlquery "a b&c/d"}} {{.html | html}} {{"x" | printf "%s-%s" "y"}}', data),
    render('{{$x := 1}}{{if .t}}{{$x = 2}}{{end}}{{$x}} {{$y := .s}}{{$y}}{{range .xs}}{{$y}}{{end}}', data),
    render('{{define "item"}}<{{.}}>{{end}}{{range .xs}}{{template "item" .}}{{end}} {{block "b" .s}}[{{.}}]{{end}}', data),
    render('{{(index .xs 0)}} {{(.m).c.d}} {{0x1F}} {{1e3}} {{-2}} {{1_000}} {{\'a\'}} {{"\\t|\\u00e9|"}} {{`raw\\n`}}', data),
    render('{{.n}} {{printf "%d" .n}} {{printf "%v" .zero}} {{if .zero}}t{{end}}', data),
    // errors: Go's messages carry template positions we do not reproduce
    ...[
      render('{{if}}x{{end}}', data),
      render('{{range .xs}}', data),
      render('{{nosuchfunction 1}}', data),
      render('{{template "nope"}}', data),
      render('{{eq .n 5}}', data),
      render('{{index .xs 7}}', data),
      render('{{$undefined}}', data),
      render('{{.s 1}}', data),
      render('{{.s.x}}', data),
      render('{{.m.a.b}}', data),
    ].map((expr) => ({ expr, anyError: true })),
  ]);
});
