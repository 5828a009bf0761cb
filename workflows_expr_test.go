package main

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
)

// evalExpr evaluates a GitHub Actions expression of the subset the workflows use
// in if: — ||, &&, !, ==, !=, parentheses, 'strings' (a doubled quote escapes one), true, false,
// null, context paths (github.ref, needs.dev.result, inputs.stack, …) and the
// status functions — as GitHub does ("Evaluate expressions in workflows and
// actions", docs.github.com): && binds tighter than ||, strings compare ignoring
// case, a missing context property is null, and an if: without a status function
// is wrapped in success() && (…). Anything else is an error, so the test fails
// rather than misread a workflow.
func evalExpr(expr string, ctx map[string]string, status map[string]bool) (bool, error) {
	p := &exprParser{src: expr, ctx: ctx, status: status}
	v, err := p.or()
	p.skip()
	if err == nil && p.pos < len(p.src) {
		err = fmt.Errorf("unexpected %q at %d", p.src[p.pos:], p.pos)
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", expr, err)
	}
	if !p.usedStatus && !status["success"] {
		return false, nil
	}
	return truthy(v), nil
}

type exprParser struct {
	src        string
	pos        int
	ctx        map[string]string
	status     map[string]bool
	usedStatus bool
}

// exprValue is a string, a bool or nil (null).
type exprValue any

func truthy(v exprValue) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v != ""
	}
	return false
}

func (p *exprParser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *exprParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// or and and return the deciding operand, as GitHub's operators do.
func (p *exprParser) or() (exprValue, error) {
	v, err := p.and()
	for err == nil && p.eat("||") {
		var r exprValue
		if r, err = p.and(); !truthy(v) {
			v = r
		}
	}
	return v, err
}

func (p *exprParser) and() (exprValue, error) {
	v, err := p.unary()
	for err == nil && p.eat("&&") {
		var r exprValue
		if r, err = p.unary(); truthy(v) {
			v = r
		}
	}
	return v, err
}

func (p *exprParser) unary() (exprValue, error) {
	if p.eat("!") && !strings.HasPrefix(p.src[p.pos:], "=") {
		v, err := p.unary()
		return !truthy(v), err
	}
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!="} {
		if p.eat(op) {
			r, err := p.primary()
			eq := fmt.Sprint(l) == fmt.Sprint(r)
			if ls, ok := l.(string); ok {
				if rs, ok := r.(string); ok {
					eq = strings.EqualFold(ls, rs)
				}
			}
			return eq == (op == "=="), err
		}
	}
	return l, nil
}

func (p *exprParser) primary() (exprValue, error) {
	p.skip()
	switch {
	case p.eat("("):
		v, err := p.or()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("missing ) at %d", p.pos)
		}
		return v, err
	case p.pos < len(p.src) && p.src[p.pos] == '\'':
		var b strings.Builder
		for p.pos++; p.pos < len(p.src); p.pos++ {
			if p.src[p.pos] == '\'' {
				if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos++
					continue
				}
				p.pos++
				return b.String(), nil
			}
			b.WriteByte(p.src[p.pos])
		}
		return nil, fmt.Errorf("unterminated string")
	}
	start := p.pos
	for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || strings.ContainsRune("._-[]", rune(p.src[p.pos]))) {
		p.pos++
	}
	name := p.src[start:p.pos]
	switch name {
	case "":
		return nil, fmt.Errorf("expected a value at %d", p.pos)
	case "true", "false":
		return name == "true", nil
	case "null":
		return nil, nil
	case "success", "failure", "cancelled", "always":
		if !p.eat("(") || !p.eat(")") {
			return nil, fmt.Errorf("%s without ()", name)
		}
		p.usedStatus = true
		return name == "always" || p.status[name], nil
	}
	if v, ok := p.ctx[name]; ok {
		return v, nil
	}
	for _, c := range []string{"github.", "inputs.", "needs.", "steps.", "env.", "vars."} {
		if strings.HasPrefix(name, c) {
			return nil, nil // a property the event does not have is null
		}
	}
	return nil, fmt.Errorf("unknown name %q", name)
}

func TestEvalExpr(t *testing.T) {
	ctx := map[string]string{"github.ref": "refs/heads/main", "inputs.stack": "prod"}
	ok := map[string]bool{"success": true}
	for expr, want := range map[string]bool{
		"github.ref == 'refs/heads/MAIN'":                             true, // case-insensitive
		"github.ref != 'refs/heads/main'":                             false,
		"true || false && false":                                      true, // && binds tighter
		"(true || false) && false":                                    false,
		"!cancelled() && inputs.stack == 'prod'":                      true,
		"github.event.workflow_run.conclusion == 'success'":           false, // absent: null
		"inputs.stack == 'dev' || github.ref == 'refs/heads/main'":    true,
		"!(github.ref == 'refs/heads/main')":                          false,
		"'it''s' == 'IT''S'":                                          true,
		"steps.run.outputs.number != ''":                              true, // null is not ''
		"github.ref == 'refs/heads/main' && inputs.stack != 'prod'":   false,
		"github.ref == 'refs/heads/main' && (inputs.stack == 'prod')": true,
	} {
		got, err := evalExpr(expr, ctx, ok)
		if err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", expr, got, err, want)
		}
	}
	if got, _ := evalExpr("github.ref == 'refs/heads/main'", ctx, map[string]bool{"failure": true}); got {
		t.Error("an if: without a status function ran after a failure")
	}
	if _, err := evalExpr("contains(github.ref, 'main')", ctx, ok); err == nil {
		t.Error("a function the evaluator does not know was accepted")
	}
}

// TestJobConditionsEvaluated: the deploy jobs', previews' and plan comment's if: evaluated over
// every ref, event, input and outcome that matters — prod deploys only from main,
// on a push after dev succeeded or a dispatch naming prod; previews skip forks and
// Dependabot. A misplaced parenthesis that text checks miss fails here.
func TestJobConditionsEvaluated(t *testing.T) {
	wfs := readWorkflows(t)
	deploy := wfs["deploy.yml"]
	branch := ciBranch(t)
	for _, ref := range []string{"refs/heads/" + branch, "refs/heads/feature"} {
		for _, event := range []string{"push", "workflow_dispatch"} {
			for _, stack := range []string{"dev", "prod"} {
				for _, dev := range []string{"success", "failure", "skipped"} {
					for _, cancelled := range []bool{false, true} {
						ctx := map[string]string{"github.ref": ref, "github.event_name": event, "needs.dev.result": dev}
						if event == "workflow_dispatch" {
							ctx["inputs.stack"] = stack
						}
						main := ref == "refs/heads/"+branch
						for job, want := range map[string]bool{
							"dev":  main && (event == "push" || stack == "dev") && !cancelled,
							"prod": main && !cancelled && ((event == "push" && dev == "success") || (event == "workflow_dispatch" && stack == "prod")),
						} {
							// success() and failure() are of the jobs a job needs: prod needs dev, dev none.
							status := map[string]bool{"success": !cancelled, "cancelled": cancelled}
							if job == "prod" {
								status = map[string]bool{"success": dev == "success" && !cancelled, "failure": dev == "failure", "cancelled": cancelled}
							}
							got, err := evalExpr(deploy.Jobs[job].If, ctx, status)
							if err != nil || got != want {
								t.Errorf("deploy.yml job %s with %v cancelled=%v: runs %v (%v), want %v", job, ctx, cancelled, got, err, want)
							}
						}
					}
				}
			}
		}
	}
	for name, j := range wfs["plan-comment.yml"].Jobs {
		for _, event := range []string{"pull_request", "push"} {
			for _, conclusion := range []string{"success", "failure", "cancelled", "skipped"} {
				ctx := map[string]string{"github.event.workflow_run.event": event, "github.event.workflow_run.conclusion": conclusion}
				want := event == "pull_request" && (conclusion == "success" || conclusion == "failure")
				if got, err := evalExpr(j.If, ctx, map[string]bool{"success": true}); err != nil || got != want {
					t.Errorf("plan-comment.yml job %s after a %s run that ended %s: runs %v (%v), want %v", name, event, conclusion, got, err, want)
				}
			}
		}
	}
	for name, j := range previews(t, wfs["pull-request.yml"]) {
		for _, actor := range []string{"alice", "dependabot[bot]"} {
			for _, head := range []string{"acme/shop", "fork/shop"} {
				ctx := map[string]string{"github.actor": actor, "github.repository": "acme/shop", "github.event.pull_request.head.repo.full_name": head}
				want := actor == "alice" && head == "acme/shop"
				if got, err := evalExpr(j.If, ctx, map[string]bool{"success": true}); err != nil || got != want {
					t.Errorf("pull-request.yml preview %s by %s from %s: runs %v (%v), want %v", name, actor, head, got, err, want)
				}
			}
		}
	}
}
