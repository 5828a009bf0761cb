package ops

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"ecs-bluegreen/infra/rollout"
)

// Status is what serves, what is under way, what went before.
type Status struct {
	Stack   string `json:"stack"`
	Service string `json:"service"`
	Serving struct {
		rollout.Serving
		Images  map[string]string `json:"images"` // container -> image (by digest)
		Targets []TargetHealth    `json:"targets"`
		// Declared is what the stack's code declares; Behind is true when something
		// else serves (a rollback made by hand, or a deployment under way).
		Declared string `json:"declared"`
		Behind   bool   `json:"behind"`
	} `json:"serving"`
	UnderWay *UnderWay `json:"underWay,omitempty"`
	// Deployments are the latest ones, newest first.
	Deployments []rollout.Deployment `json:"deployments"`
	Events      []Event              `json:"events"`
	// Rollback is the record that makes `pulumi up` refuse a rolled-back revision,
	// Earlier the older records that still refuse theirs.
	Rollback *rollout.RollbackRecord  `json:"rollback,omitempty"`
	Earlier  []rollout.RollbackRecord `json:"earlier,omitempty"`
	// Removed are the revisions rollbacks took out or could not bring back: a
	// rollback passes over them.
	Removed []string           `json:"removed,omitempty"`
	Judged  *rollout.Judgement `json:"judged,omitempty"`
}

// UnderWay is a deployment in progress and how far it got.
type UnderWay struct {
	rollout.Deployment
	Target *rollout.Progress `json:"target,omitempty"`
}

// TargetHealth is one target of the serving target group.
type TargetHealth struct {
	Target      string `json:"target"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// Event is one of the service's events.
type Event struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// historyLength is how many deployments status shows.
const historyLength = 8

// Status reads what serves and what happens to the service.
func (o *Ops) Status(ctx context.Context, st Stack) (*Status, error) {
	ro := o.Rollout
	s := &Status{Stack: st.Name, Service: st.Service}
	serving, err := ro.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	s.Serving.Serving = serving
	s.Serving.Declared = st.Declared
	s.Serving.Images = map[string]string{}
	if out, err := o.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(serving.TaskDefinition)}); err == nil && out.TaskDefinition != nil {
		for _, c := range out.TaskDefinition.ContainerDefinitions {
			s.Serving.Images[aws.ToString(c.Name)] = aws.ToString(c.Image)
		}
	}
	if ro.ELB != nil {
		for _, tg := range serving.TargetGroups {
			out, err := ro.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
			if err != nil { // the rest of the status still shows
				s.Serving.Targets = append(s.Serving.Targets, TargetHealth{Target: tg, State: "unreadable", Description: err.Error()})
				continue
			}
			for _, d := range out.TargetHealthDescriptions {
				th := TargetHealth{}
				if d.Target != nil {
					th.Target = aws.ToString(d.Target.Id)
					if d.Target.Port != nil {
						th.Target += fmt.Sprintf(":%d", *d.Target.Port)
					}
				}
				if h := d.TargetHealth; h != nil {
					th.State, th.Reason, th.Description = string(h.State), string(h.Reason), aws.ToString(h.Description)
				}
				s.Serving.Targets = append(s.Serving.Targets, th)
			}
		}
	}
	for _, e := range serving.Events[:min(len(serving.Events), 10)] {
		s.Events = append(s.Events, Event{At: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	if s.Deployments, err = ro.History(ctx, st.Application, st.DeploymentGroup, historyLength); err != nil {
		return nil, err
	}
	for _, d := range s.Deployments {
		if rollout.Active(cdStatus(d.Status)) {
			u := &UnderWay{Deployment: d, Target: ro.TargetOf(ctx, d.ID)}
			s.UnderWay = u
			break
		}
	}
	state, err := rollout.ReadState(ctx, ro.State, st.StateParameter)
	if err != nil {
		return nil, err
	}
	s.Rollback, s.Earlier, s.Removed, s.Judged = state.Rollback, state.Earlier, state.Removed, state.Judged
	s.Serving.Behind = st.Declared != "" && serving.TaskDefinition != st.Declared
	return s, nil
}

// Text renders a status for a terminal.
func (s *Status) Text() string {
	var b strings.Builder
	sv := s.Serving
	fmt.Fprintf(&b, "stack %s, service %s\n", s.Stack, s.Service)
	by := "by " + sv.DeploymentID
	if sv.DeploymentID == "" {
		by = "the first revision, started by ECS with the service"
	}
	fmt.Fprintf(&b, "serving   %s (%s)\n", short(sv.TaskDefinition), by)
	if sv.Behind {
		fmt.Fprintf(&b, "          the stack declares %s\n", short(sv.Declared))
	}
	for _, name := range sortedKeys(sv.Images) {
		fmt.Fprintf(&b, "  image   %s: %s\n", name, sv.Images[name])
	}
	fmt.Fprintf(&b, "  tasks   %d running, %d pending of %d (%s), task set %s\n", sv.Running, sv.Pending, sv.Desired, sv.Stability, short(sv.TaskSet))
	for _, t := range sv.Targets {
		line := fmt.Sprintf("  target  %s %s", t.Target, t.State)
		if t.Reason != "" {
			line += ": " + t.Reason + ": " + t.Description
		}
		b.WriteString(line + "\n")
	}
	if r := s.Rollback; r != nil {
		if !r.Pending && r.To == "" {
			fmt.Fprintf(&b, "rollback failed: the rollback of %s (deployment %s) did not bring the revision before back", short(r.From), orUnknown(r.Deployment))
		} else if r.Pending {
			fmt.Fprintf(&b, "rolling back: %s since %s (deployment %s), not seen to end: check the deployments below", short(r.From), r.At.UTC().Format(time.RFC3339), orUnknown(r.Deployment))
		} else {
			fmt.Fprintf(&b, "rolled back: %s was rolled back at %s to %s (deployment %s)", short(r.From), r.At.UTC().Format(time.RFC3339), short(r.To), r.Deployment)
		}
		if r.By != "" {
			fmt.Fprintf(&b, " by %s", r.By)
		}
		refused := short(r.From)
		if r.Image != "" {
			refused += " and any revision of its app image " + r.Image
		}
		fmt.Fprintf(&b, "; `pulumi up` refuses %s until the code declares another revision or the record is cleared (ops unblock)\n", refused)
		for _, e := range s.Earlier {
			fmt.Fprintf(&b, "  also refused: %s, rolled back at %s", short(e.From), e.At.UTC().Format(time.RFC3339))
			if e.Image != "" {
				fmt.Fprintf(&b, " (and its app image)")
			}
			b.WriteString("\n")
		}
	}
	if len(s.Removed) > 0 {
		fmt.Fprintf(&b, "rollback passes over: %s (taken out or not brought back by a rollback; until a successful deployment of each)\n", shortList(s.Removed))
	}
	if u := s.UnderWay; u != nil {
		fmt.Fprintf(&b, "under way %s of %s: %s", u.ID, short(u.TaskDefinition), u.Status)
		if t := u.Target; t != nil {
			var split []string
			for _, label := range sortedKeys(t.Traffic) {
				split = append(split, fmt.Sprintf("%s %.0f%%", strings.ToLower(label), t.Traffic[label]))
			}
			fmt.Fprintf(&b, ", traffic %s", strings.Join(split, " / "))
			var done []string
			for _, name := range sortedKeys(t.Events) {
				if t.Events[name] != "Pending" {
					done = append(done, name+" "+t.Events[name])
				}
			}
			if len(done) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(done, ", "))
			}
		}
		b.WriteString("\n")
	}
	if len(s.Deployments) > 0 {
		b.WriteString("deployments, newest first:\n")
		for _, d := range s.Deployments {
			what := short(d.TaskDefinition)
			if d.Creator == "codeDeployRollback" {
				what = "(rollback)"
			}
			if d.Unreadable != "" {
				what = "(revision unreadable)"
			}
			fmt.Fprintf(&b, "  %-14s %-28s %-10s %-20s %s", d.ID, what, d.Status, d.Creator, when(d.Created))
			if d.Completed != nil && d.Created != nil {
				fmt.Fprintf(&b, " (%s)", d.Completed.Sub(*d.Created).Round(time.Second))
			}
			if d.Error != "" {
				fmt.Fprintf(&b, "  %s", d.Error)
			}
			b.WriteString("\n")
		}
	}
	if len(s.Events) > 0 {
		b.WriteString("service events, newest first:\n")
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  %s %s\n", when(&e.At), e.Message)
		}
	}
	return b.String()
}

func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// short is the last path part of an ARN.
func short(arn string) string {
	if arn == "" {
		return "-"
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func orUnknown(s string) string {
	if s == "" {
		return "not yet known"
	}
	return s
}

// shortList is revisions by their short names, comma-separated.
func shortList(arns []string) string {
	names := make([]string, len(arns))
	for i, a := range arns {
		names[i] = short(a)
	}
	return strings.Join(names, ", ")
}
