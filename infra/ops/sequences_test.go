package ops_test

// Rollback sequences as they happen on call: reruns, failures of the rollback
// itself, `pulumi up` runs meanwhile. Each ends with the revision that must
// serve, and the revisions `pulumi up` must refuse.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecs-bluegreen/infra/ops"
	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

const td4 = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:4"

func (f *fixture) state(t *testing.T) rollout.State {
	t.Helper()
	s, err := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request is the Request `pulumi up` makes for td, whose app image is image.
func request(td, image, policy string) rollout.Request {
	return rollout.Request{Stack: "dev", Application: "web-app", DeploymentGroup: "web", Cluster: "web-cluster", Service: "web-svc",
		TaskDefinition: td, Image: image, ContainerName: "nginx", ContainerPort: 8080, Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-tasks"},
		AssignPublicIP: true, CapacityProvider: "FARGATE_SPOT", PlatformVersion: "LATEST", StateParameter: param, ActivePolicy: policy,
		Timeout: 10 * time.Second, StopOnTimeout: true, DesiredCount: 2}
}

// up is `pulumi up` of td with app image image.
func (f *fixture) up(td, image, policy string) error {
	_, err := f.ops.Rollout.Run(context.Background(), request(td, image, policy))
	return err
}

func (f *fixture) serving() string { td, _ := f.sim.Serving(); return td }

// refused asserts that `pulumi up` refuses td (with its app image).
func (f *fixture) refused(t *testing.T, td, image string) {
	t.Helper()
	creates := len(f.creates())
	var blocked *rollout.BlockedError
	if err := f.up(td, image, rollout.WaitForActive); !errors.As(err, &blocked) || len(f.creates()) != creates {
		t.Errorf("up of %s: %v (%d deployments created): want it refused", td, err, len(f.creates())-creates)
	}
}

// onLine is an io.Writer that runs fn once, when a line containing line was
// written.
type onLine struct {
	syncBuffer
	line string
	fn   func()
	once sync.Once
}

func (o *onLine) Write(p []byte) (int, error) {
	n, err := o.syncBuffer.Write(p)
	if strings.Contains(o.String(), o.line) {
		o.once.Do(o.fn)
	}
	return n, err
}

// TestSecondRollbackDuringTheTerminationWait: with acceptTrafficShifted the first
// rollback returns once web:2 has all traffic; a second one during its
// termination wait must not stop it (that would put web:3 back).
func TestSecondRollbackDuringTheTerminationWait(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	f.sim.WaitLooks = 1 << 30 // a long termination wait from now on
	st := stack
	st.AcceptTrafficShifted = true
	if _, err := f.ops.Rollback(context.Background(), st, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	_, err := f.ops.Rollback(context.Background(), st, ops.RollbackOptions{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "waits out the old tasks' termination") || f.aws.Count("StopDeployment") != 0 || f.serving() != td2 {
		t.Fatalf("second rollback: %v; %d stops; serving %s", err, f.aws.Count("StopDeployment"), f.serving())
	}
	// The way out: end the wait early (ContinueDeployment with TERMINATION_WAIT), then rerun.
	rb := f.sim.Deployments()[len(f.sim.Deployments())-1].ID
	if hint := "aws deploy continue-deployment --deployment-id " + rb + " --deployment-wait-type TERMINATION_WAIT"; !strings.Contains(err.Error(), hint) {
		t.Errorf("second rollback's error lacks %q: %v", hint, err)
	}
	f.refused(t, td3, appImage(3))
}

// interruptedRollbackToABrokenRevision is web:3 serving, web:2 no longer
// starting, and a rollback (to web:2) interrupted once it wrote line.
func interruptedRollbackToABrokenRevision(t *testing.T, line string) *fixture {
	t.Helper()
	f := deployed(t, td1, td2, td3)
	f.sim.Crashes(td2, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.ops.Out = &cancelOn{line: line, cancel: cancel}
	f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: time.Minute})
	f.ops.Out = f.out
	return f
}

// TestFailedRollbackFollowedAgain: the rollback's own deployment of web:2 fails
// (web:2 no longer starts) and CodeDeploy rolls it back to web:3; the command,
// interrupted meanwhile, is run again: it says the rollback failed, the record
// still refuses web:3 and its build, and -previous goes to web:1.
func TestFailedRollbackFollowedAgain(t *testing.T) {
	f := interruptedRollbackToABrokenRevision(t, "; following rollback")
	_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "the rollback to web:2 failed") || f.serving() != td3 {
		t.Fatalf("rerun: %v; serving %s", err, f.serving())
	}
	if r := f.state(t).Rollback; r == nil || r.From != td3 || r.Image != appImage(3) || r.Pending {
		t.Errorf("record %+v", r)
	}
	f.refused(t, td4, appImage(3))
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute, Previous: true}); err != nil || f.serving() != td1 {
		t.Fatalf("-previous: %v; serving %s", err, f.serving())
	}
	f.refused(t, td3, appImage(3))
}

// TestFailedRollbackNotInterrupted: the same failure seen by the command itself;
// a rerun does not take the good revision for the failed one, and -previous is
// the way on.
func TestFailedRollbackNotInterrupted(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	f.sim.Crashes(td2, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "the rollback to web:2 failed") || !strings.Contains(err.Error(), "-previous") {
		t.Fatalf("first: %v", err)
	}
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "the rollback to web:2 failed") {
		t.Errorf("rerun: %v", err)
	}
	if r := f.state(t).Rollback; r == nil || r.From != td3 || r.Pending {
		t.Errorf("record %+v", r)
	}
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute, Previous: true}); err != nil || f.serving() != td1 {
		t.Fatalf("-previous: %v; serving %s", err, f.serving())
	}
}

// TestPendingRecordWithoutItsDeployment: the command was killed after creating
// the rollback deployment and before writing its id; it succeeded meanwhile. The
// rerun completes that rollback instead of rolling back once more.
func TestPendingRecordWithoutItsDeployment(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	ctx := context.Background()
	s := f.state(t)
	s.Record(rollout.RollbackRecord{From: td3, Image: appImage(3), To: td2, At: time.Now().Add(-time.Second), Pending: true})
	if err := rollout.WriteState(ctx, f.ops.Rollout.State, param, s, nil); err != nil {
		t.Fatal(err)
	}
	// The deployment the killed command made, followed to its end.
	req := request(td2, appImage(2), rollout.WaitForActive)
	req.Caller = rollout.OpsRollback
	if _, err := f.ops.Rollout.Run(ctx, req); err != nil {
		t.Fatal(err)
	}
	creates := len(f.creates())
	res, err := f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil || f.serving() != td2 || len(f.creates()) != creates || res.Record.From != td3 || res.Record.Pending {
		t.Fatalf("rerun: %v; serving %s; %d more deployments; result %+v", err, f.serving(), len(f.creates())-creates, res)
	}
}

// TestUnblockWhileARollbackRuns: after unblock the record is gone, but the
// rollback deployment still runs: a rollback then follows it, never stops it.
func TestUnblockWhileARollbackRuns(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	f.sim.Steps = 1 << 30
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.ops.Out = &cancelOn{line: "created deployment", cancel: cancel}
	f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: time.Minute})
	f.ops.Out = f.out
	if _, err := f.ops.Unblock(context.Background(), stack); err != nil {
		t.Fatal(err)
	}
	f.sim.Steps = 2
	f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if f.aws.Count("StopDeployment") != 0 || f.serving() != td2 {
		t.Errorf("%d stops; serving %s", f.aws.Count("StopDeployment"), f.serving())
	}
}

// TestStopPolicyNeverStopsARollback: with activeDeploymentPolicy stop, a CI push
// during a day-N rollback waits for it instead of stopping it.
func TestStopPolicyNeverStopsARollback(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	f.sim.RegisterTaskDefinition(td4, fakeaws.TaskDef{})
	f.sim.Steps = 1 << 30
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.ops.Out = &cancelOn{line: "created deployment", cancel: cancel}
	f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: time.Minute})
	f.ops.Out = f.out
	f.sim.Steps = 2
	if err := f.up(td4, appImage(4), rollout.StopActive); err != nil {
		t.Fatal(err)
	}
	if n := f.aws.Count("StopDeployment"); n != 0 || f.serving() != td4 {
		t.Errorf("%d stops; serving %s", n, f.serving())
	}
}

// TestUpThatWaitedSeesANewRecord: CI's up of web:4 (web:3's build with another
// environment) waits for a deployment; meanwhile a rollback of web:3 is
// recorded. When the wait ends, the up reads the state again and refuses.
func TestUpThatWaitedSeesANewRecord(t *testing.T) {
	f := deployed(t, td1, td2)
	f.sim.RegisterTaskDefinition(td4, fakeaws.TaskDef{})
	f.sim.StartDeployment(td3)
	f.ops.Out = &onLine{line: "waiting for deployment", fn: func() {
		s, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
		s.Record(rollout.RollbackRecord{From: td3, Image: appImage(3), To: td2, At: time.Now()})
		rollout.WriteState(context.Background(), f.ops.Rollout.State, param, s, nil)
	}}
	var blocked *rollout.BlockedError
	if err := f.up(td4, appImage(3), rollout.WaitForActive); !errors.As(err, &blocked) || f.serving() == td4 {
		t.Fatalf("up: %v; serving %s", err, f.serving())
	}
}

// TestEveryRecordRefuses: after a second rollback, or -previous after
// CodeDeploy's own, the revision the first took out is still refused.
func TestEveryRecordRefuses(t *testing.T) {
	for _, c := range []string{"second rollback", "-previous after CodeDeploy's"} {
		t.Run(c, func(t *testing.T) {
			f := deployed(t, td1, td2)
			if c == "second rollback" {
				f.deploy(t, td3)
			} else {
				f.sim.Crashes(td3, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
				f.up(td3, appImage(3), rollout.WaitForActive)
			}
			if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute, Previous: c != "second rollback"}); err != nil {
				t.Fatal(err)
			}
			if f.serving() != td1 {
				t.Fatalf("serving %s", f.serving())
			}
			f.refused(t, td3, appImage(3))
			f.refused(t, td4, appImage(3)) // its build
			f.refused(t, td2, appImage(2))
		})
	}
}

// TestRollbackDuringAnUpsTerminationWait: right after a `pulumi up` with
// acceptTrafficShifted, its deployment waits out the old tasks: a rollback stops
// it with rollback, which is what puts web:2 back.
func TestRollbackDuringAnUpsTerminationWait(t *testing.T) {
	f := deployed(t, td1, td2)
	f.sim.WaitLooks = 1 << 30
	req := request(td3, appImage(3), rollout.WaitForActive)
	req.AcceptTrafficShifted = true
	if _, err := f.ops.Rollout.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil || f.serving() != td2 || res.Stopped == "" || res.Record.From != td3 || res.Record.Image != appImage(3) {
		t.Fatalf("%v; serving %s; result %+v", err, f.serving(), res)
	}
}

// TestLogsOfAMissingGroup: FilterLogEvents answers a missing log group with the
// same ResourceNotFoundException as a missing stream; it is said, not read as
// "nothing logged".
func TestLogsOfAMissingGroup(t *testing.T) {
	f := deployed(t, td1)
	d2 := f.deploy(t, td2)
	var calls atomic.Int32
	f.aws.Handle("FilterLogEvents", func(map[string]any) (any, *fakeaws.Error) {
		calls.Add(1)
		return nil, &fakeaws.Error{Status: 400, Type: "ResourceNotFoundException", Message: "The specified log group does not exist."}
	})
	err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Deployment: d2})
	if err == nil || !strings.Contains(err.Error(), "log group does not exist") || calls.Load() > 2 {
		t.Errorf("%v after %d calls", err, calls.Load())
	}
}

// TestStatusShowsEveryRecord: status names the newest record and the earlier ones
// that still refuse.
func TestStatusShowsEveryRecord(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	for range 2 {
		if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := f.ops.Status(context.Background(), stack)
	if err != nil {
		t.Fatal(err)
	}
	if text := s.Text(); !strings.Contains(text, "rolled back: web:2 was rolled back at ") || !strings.Contains(text, "  also refused: web:3, rolled back at ") {
		t.Errorf("status:\n%s", text)
	}
}

// TestRollbackPassesOverARefusedBuild: the revision before the serving one runs
// a build an earlier rollback took out (a revert whose build reproduced that
// digest). The rollback passes over it to the revision before; when nothing is
// left it fails, naming the record that refuses, and changes nothing: no
// deployment, the record as it was, and no rerun that reports success.
func TestRollbackPassesOverARefusedBuild(t *testing.T) {
	withImage := func(f *fixture, td string, app, n int) {
		f.sim.RegisterTaskDefinition(td, fakeaws.TaskDef{Containers: []fakeaws.Container{
			{Name: "nginx", Image: "repo/nginx@sha256:" + strings.Repeat("n", 63) + string(rune('0'+n)), LogGroup: "/ecs/web", StreamPrefix: "nginx"},
			{Name: "app", Image: appImage(app), LogGroup: "/ecs/web", StreamPrefix: "app"},
		}})
	}
	t.Run("an earlier revision is left", func(t *testing.T) {
		f := newFixture(t)
		withImage(f, td4, 2, 4) // web:4 is a revert to web:2's build
		for _, td := range []string{td1, td2, td3, td4} {
			f.deploy(t, td)
		}
		if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil || f.serving() != td3 {
			t.Fatalf("first: %v; serving %s", err, f.serving())
		}
		res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
		if err != nil || f.serving() != td1 || res.Record.From != td3 || res.Record.To != td1 {
			t.Fatalf("second: %v; serving %s; result %+v", err, f.serving(), res)
		}
		if !strings.Contains(f.out.String(), "passing over web:2") {
			t.Errorf("output lacks why web:2 was passed over:\n%s", f.out.String())
		}
	})
	t.Run("nothing is left", func(t *testing.T) {
		f := newFixture(t)
		withImage(f, td3, 1, 3) // web:3 is a revert to web:1's build
		for _, td := range []string{td1, td2, td3} {
			f.deploy(t, td)
		}
		if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil || f.serving() != td2 {
			t.Fatalf("first: %v; serving %s", err, f.serving())
		}
		first, creates := f.state(t), len(f.creates())
		for _, run := range []string{"second", "rerun"} {
			res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
			if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "runs the app image") || !strings.Contains(err.Error(), "of revision web:3, which was rolled back") {
				t.Errorf("%s: %v (exit %d); result %+v", run, err, ops.ExitCode(err), res)
			}
			if s := f.state(t); !reflect.DeepEqual(s, first) {
				t.Errorf("%s: state %+v, want it unchanged: %+v", run, s.Rollback, first.Rollback)
			}
			if f.serving() != td2 || len(f.creates()) != creates {
				t.Errorf("%s: serving %s, %d deployments created", run, f.serving(), len(f.creates())-creates)
			}
		}
		// web:1's image cannot be read once (a denial, say a policy being changed): the pick cannot tell it is
		// refused, so the rollout's own check refuses it — nothing is deployed and
		// nothing recorded, on this run or the next.
		describe, once := f.sim.TaskDefinitionHandler(), false
		f.aws.Handle("DescribeTaskDefinition", func(body map[string]any) (any, *fakeaws.Error) {
			if body["taskDefinition"] == td1 && !once {
				once = true
				return nil, &fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "not authorized to perform: ecs:DescribeTaskDefinition"}
			}
			return describe(body)
		})
		for _, run := range []string{"image unreadable once", "rerun"} {
			res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
			if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "which was rolled back") {
				t.Errorf("%s: %v (exit %d); result %+v", run, err, ops.ExitCode(err), res)
			}
			if s := f.state(t); !reflect.DeepEqual(s, first) {
				t.Errorf("%s: state %+v, want it unchanged: %+v", run, s.Rollback, first.Rollback)
			}
			if f.serving() != td2 || len(f.creates()) != creates {
				t.Errorf("%s: serving %s, %d deployments created", run, f.serving(), len(f.creates())-creates)
			}
		}
	})
}

// settle moves every active deployment on, as time passing would, until none is.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	for range 200 {
		active := false
		for _, d := range f.sim.Deployments() {
			if fakeaws.Active(d.Status) {
				active = true
				f.sim.Advance(d.ID)
			}
		}
		if !active {
			return
		}
	}
	t.Fatalf("deployments still active: %+v", f.sim.Deployments())
}

// TestPendingRollbackThatFailedMeanwhile: the command was interrupted right
// after creating its rollback deployment of web:2, which then failed (web:2 no
// longer starts), and CodeDeploy's rollback of it ended too, all before the
// rerun. The rerun says the rollback failed, keeps refusing web:3 (no longer
// pending), and -previous goes on to web:1.
func TestPendingRollbackThatFailedMeanwhile(t *testing.T) {
	f := interruptedRollbackToABrokenRevision(t, "created deployment")
	if r := f.state(t).Rollback; r == nil || !r.Pending || r.Deployment == "" {
		t.Fatalf("after the interrupted run: record %+v", r)
	}
	f.settle(t)
	if f.serving() != td3 {
		t.Fatalf("serving %s after CodeDeploy's rollback", f.serving())
	}
	_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "the rollback to web:2 failed") || f.serving() != td3 {
		t.Fatalf("rerun: %v; serving %s", err, f.serving())
	}
	if r := f.state(t).Rollback; r == nil || r.From != td3 || r.Pending {
		t.Errorf("record %+v", r)
	}
	f.refused(t, td4, appImage(3)) // web:3's build
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute, Previous: true}); err != nil || f.serving() != td1 {
		t.Fatalf("-previous: %v; serving %s", err, f.serving())
	}
}

// unreadableRevision makes GetApplicationRevision refuse the revision of the
// deployment of td (AccessDenied: the role may not read it); the others are read.
func (f *fixture) unreadableRevision(td string) {
	var hash string
	for _, d := range f.sim.Deployments() {
		if d.TaskDefinition == td && d.Content != "" {
			sum := sha256.Sum256([]byte(d.Content))
			hash = hex.EncodeToString(sum[:])
		}
	}
	read := f.sim.RevisionHandler()
	f.aws.Handle("GetApplicationRevision", func(body map[string]any) (any, *fakeaws.Error) {
		rev, _ := body["revision"].(map[string]any)
		if asc, _ := rev["appSpecContent"].(map[string]any); asc["sha256"] == hash {
			return nil, &fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: codedeploy:GetApplicationRevision"}
		}
		return read(body)
	})
}

// TestOneUnreadableRevision: the revision of an old deployment cannot be read;
// status and rollback still work (that deployment is shown without its
// revision, and a warning says why). The serving deployment's revision matters,
// and so does one the rollback would meet before its pick: then rollback
// refuses to guess.
func TestOneUnreadableRevision(t *testing.T) {
	t.Run("the deployment CodeDeploy rolled back", func(t *testing.T) {
		f := deployed(t, td1, td2)
		f.sim.Crashes(td3, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
		if err := f.up(td3, appImage(3), rollout.WaitForActive); err == nil {
			t.Fatal("the crashing revision deployed")
		}
		f.unreadableRevision(td3)
		if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); ops.ExitCode(err) != 2 || !strings.Contains(err.Error(), "run the command again") {
			t.Errorf("rollback after CodeDeploy's, its revision unreadable: %v (exit %d)", err, ops.ExitCode(err))
		}
	})
	t.Run("the deployment CodeDeploy is rolling back", func(t *testing.T) {
		f := rollingBackWeb3(t)
		f.unreadableRevision(td3)
		_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
		if ops.ExitCode(err) != 2 || !strings.Contains(err.Error(), "run the command again") || f.state(t).Rollback != nil {
			t.Errorf("rollback during CodeDeploy's, its revision unreadable: %v (exit %d), record %+v", err, ops.ExitCode(err), f.state(t).Rollback)
		}
	})
	t.Run("the one before the serving one", func(t *testing.T) {
		f := newFixture(t)
		for _, td := range []string{td1, td2, td3} {
			f.deploy(t, td)
		}
		f.unreadableRevision(td2)
		creates := len(f.creates())
		if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); ops.ExitCode(err) != 2 || !strings.Contains(err.Error(), "cannot tell what served before web:3") || len(f.creates()) != creates {
			t.Errorf("rollback past an unreadable revision: %v (exit %d), %d deployments created; serving %s", err, ops.ExitCode(err), len(f.creates())-creates, f.serving())
		}
	})
	f := newFixture(t)
	f.sim.RegisterTaskDefinition(td4, fakeaws.TaskDef{Containers: []fakeaws.Container{
		{Name: "nginx", Image: "repo/nginx@sha256:" + strings.Repeat("n", 63) + "4", LogGroup: "/ecs/web", StreamPrefix: "nginx"},
		{Name: "app", Image: appImage(4), LogGroup: "/ecs/web", StreamPrefix: "app"},
	}})
	for _, td := range []string{td1, td2, td3, td4} {
		f.deploy(t, td)
	}
	f.unreadableRevision(td2) // the oldest deployment's
	s, err := f.ops.Status(context.Background(), stack)
	if err != nil || len(s.Deployments) != 3 || s.Deployments[2].TaskDefinition != "" || s.Serving.TaskDefinition != td4 {
		t.Fatalf("status: %v; %+v", err, s)
	}
	if !strings.Contains(s.Text(), "(revision unreadable)") || !strings.Contains(f.out.String(), "warning: ") || !strings.Contains(f.out.String(), "AccessDeniedException") {
		t.Errorf("no warning:\n%s", f.out.String())
	}
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil || f.serving() != td3 {
		t.Fatalf("rollback: %v; serving %s", err, f.serving())
	}
	f.unreadableRevision(td3) // now the serving one's
	creates := len(f.creates())
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); ops.ExitCode(err) != 2 || !strings.Contains(err.Error(), "AccessDeniedException") || len(f.creates()) != creates {
		t.Errorf("rollback with the serving revision unreadable: %v (exit %d), %d deployments created", err, ops.ExitCode(err), len(f.creates())-creates)
	}
}

// TestUnblockWithOnlyRemovedRevisions: no record refuses anything, but web:2
// is among the revisions a rollback could not bring back. unblock says it stays
// passed over (until a successful deployment of it), and status shows it.
func TestUnblockWithOnlyRemovedRevisions(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	s := f.state(t)
	s.Remove(td2)
	if err := rollout.WriteState(context.Background(), f.ops.Rollout.State, param, s, nil); err != nil {
		t.Fatal(err)
	}
	cleared, err := f.ops.Unblock(context.Background(), stack)
	if err != nil || cleared != nil || !strings.Contains(f.out.String(), "a rollback still passes over web:2") {
		t.Errorf("unblock: %+v, %v:\n%s", cleared, err, f.out.String())
	}
	if r := f.state(t).Removed; len(r) != 1 || r[0] != td2 {
		t.Errorf("removed %v", r)
	}
	st, err := f.ops.Status(context.Background(), stack)
	if err != nil || !strings.Contains(st.Text(), "rollback passes over: web:2 ") || len(st.Removed) != 1 {
		t.Errorf("status %v:\n%s", err, st.Text())
	}
}

// TestRolledBackRevisionStaysPassedOver: web:3 rolled back to web:2, then web:4
// deploys (clearing the record); web:4 rolled back goes to web:2, and a rollback
// of web:2 goes to web:1, passing over web:3, whose record the success cleared.
func TestRolledBackRevisionStaysPassedOver(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	f.sim.RegisterTaskDefinition(td4, fakeaws.TaskDef{})
	if err := f.up(td4, appImage(4), rollout.WaitForActive); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{td2, td1} {
		res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
		if err != nil || f.serving() != want {
			t.Fatalf("rollback: %+v, %v; serving %s, want %s", res, err, f.serving(), want)
		}
	}
}
