package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sim is a stateful fake of one ECS service with the CODE_DEPLOY controller and
// its CodeDeploy deployment group, behind a Server. It keeps state the way AWS
// does, and answers the way AWS answers where that differs from what a fake would
// naturally say (each such place names its source):
//   - CreateService (EnsureService, called where Pulumi would create the service)
//     starts a PRIMARY task set on the declared revision without an external id;
//     it becomes steady after a few looks, or crash-loops, leaving stopped tasks;
//   - a created deployment moves Created → InProgress → (traffic shifted: the
//     termination wait) → Succeeded, one step per GetDeployment; the replacement
//     task set is created as the group's service role, which must be allowed to
//     pass the task definition's roles; success makes its revision the PRIMARY
//     task set, tagged with the deployment id; a revision that crash-loops fails
//     the deployment and starts a rollback deployment;
//   - StopDeployment with rollback stops it and starts a rollback deployment; a
//     rollback's id shows on the failed deployment a poll after its status;
//   - CreateDeployment while any deployment (rollbacks included) is active answers
//     DeploymentLimitExceededException;
//   - GetDeployment never returns the AppSpec's content; GetApplicationRevision
//     does, for its sha256;
//   - SSM parameters (the rollout's state) are kept as PutParameter left them.
type Sim struct {
	srv *Server

	mu sync.Mutex
	// Steps is how many looks a task set takes to become steady, and a deployment
	// phase to finish (default 2).
	Steps int
	// WaitLooks is how many looks the termination wait lasts once all traffic is on
	// the new tasks (default Steps).
	WaitLooks int
	// PageSize is how many items a page of ListTasks and ListDeployments holds
	// (default 2: every caller's pagination is exercised; AWS's pages hold up to 100).
	PageSize int
	// EmptyLogPages is how many empty pages GetLogEvents answers first for a
	// stream read from its end: AWS documents that a page may be empty while
	// older events exist.
	EmptyLogPages int
	// MigrationExit is the exit code of one-off tasks (RunTask), and OneOffLogs the
	// lines their app container writes before it exits.
	MigrationExit int
	OneOffLogs    []string
	// Authorize, when set, decides what a principal may do: the sim asks it for
	// the calls AWS makes as the deployment group's service role (nil allows all).
	// It returns the reason of a denial, or "".
	Authorize func(principal, action, resource string, context map[string][]string) string

	svc        *simService
	crash      map[string]Crash   // task definition -> how its tasks fail
	stopAtLook []stopAtLook       // tasks that stop at a look of the first task set
	taskDefs   map[string]TaskDef // task definition -> its roles
	deps       []*simDeployment
	revisions  map[string]string // AppSpec sha256 -> content, as registered by deployments
	tasks      map[string]*simTask
	taskOrder  []string
	params     map[string]string
	advanced   map[string]bool // parameters in the advanced tier
	seq        int
	raceTD     string
	races      int
	timeline   []Event
	serviceRol string
	// blue and green are the deployment group's target groups; a deployment's new
	// task set goes behind the one the serving task set is not behind.
	blue, green string
	logs        map[string][]LogEvent // group + "\x00" + stream -> events
	alarms      map[string]alarmState
	ip          int
	// rolling are the cluster's services with the ECS deployment controller
	// (rolling.go), by name; workerCrash how their broken revisions fail.
	rolling     map[string]*rollingService
	workerCrash map[string]WorkerCrash
	// afterTraffic are the revisions whose AfterAllowTraffic hook fails, with
	// its diagnostics (HookFailsAfterTraffic).
	afterTraffic map[string]string
}

// LogEvent is one CloudWatch Logs event.
type LogEvent struct {
	At      time.Time
	Message string
}

type alarmState struct{ value, reason string }

// Crash is how the tasks of a broken revision stop.
type Crash struct {
	Reason   string // the task's stoppedReason
	ExitCode int    // the app container's exit code
	// Logs are the app container's last lines before it exits.
	Logs []string
	// Alarm, when set, is the deployment group's alarm that goes off: a deployment
	// of the revision is stopped on it (ALARM_ACTIVE) instead of failing.
	Alarm string
	// HealthCheckCodes, when set (e.g. "[400]": Django refusing the load
	// balancer's Host header), makes the app run and stay up while its target
	// fails the load balancer's checks with these codes; ECS then stops the task
	// ("Task failed ELB health checks in (target-group …)"). Without it the app
	// exits with ExitCode before it is HEALTHY: nginx, which waits for that
	// (dependsOn), never starts, the task never runs, and ECS registers no target.
	HealthCheckCodes string
}

// TaskDef is what the sim knows of a registered task definition: the roles ECS
// must be able to pass when it starts its tasks for a caller, and its containers
// with their awslogs settings.
type TaskDef struct {
	ExecutionRole, TaskRole string
	Containers              []Container
}

// Container is one container of a task definition.
type Container struct {
	Name, Image string
	// LogGroup and StreamPrefix are its awslogs-group and awslogs-stream-prefix:
	// its tasks log to the stream <prefix>/<name>/<task id>.
	LogGroup, StreamPrefix string
}

// Event is one thing that happened in the sim, for tests of ordering.
type Event struct {
	At   time.Time
	What string
}

type simService struct {
	name, cluster string
	desired       int32
	container     string
	port          int
	primary       *simTaskSet
}

type simTaskSet struct {
	arn, id, td, externalID string
	network                 map[string]any // awsvpcConfiguration
	capacity                string
	targetGroup             string
	looks                   int
	started                 bool // its tasks were started (desired count above 0)
}

type simDeployment struct {
	id, td, creator, status string
	description             string
	created, completed      time.Time
	content                 string
	spec                    appSpecTarget
	looks                   int
	errCode, errMessage     string
	rollbackID              string
	// terminalAnswers counts the GetDeployment answers that showed Failed or
	// Stopped; the first leaves the rollback's id out.
	terminalAnswers int
	// waiting: all traffic is on the new tasks and the old ones wait to be
	// terminated; the deployment stays InProgress meanwhile.
	waiting bool
	// failedEvent is the lifecycle event that failed, with its diagnostics.
	failedEvent, diagnostics string
	// previous is what served before this deployment shifted traffic; rollbackOf
	// the deployment a rollback undoes.
	previous   *simTaskSet
	rollbackOf *simDeployment
	// green is the replacement task set of a revision whose targets fail their
	// health checks, while ECS still runs it.
	green *simTaskSet
}

type simTask struct {
	arn, td, startedBy, reason, stopCode string
	exit                                 int
	looks                                int
	stopped                              bool
	startedAt, stoppedAt                 time.Time
	// ip is its ENI's address, the target the load balancer checks.
	ip string
	// deployment made the task set it crashed in ("" for the first revision's).
	deployment string
	// crash is how it failed, if it did: an app that exited before nginx started,
	// or a running task whose target failed the health checks, or one serving
	// errors (Crash.Alarm); initial: its target is still in its first checks.
	crash   *Crash
	initial bool
	// containers are the task's container names (nil: the web task's app and nginx).
	containers []string
}

// appSpecTarget is what the sim reads of an AppSpec.
type appSpecTarget struct {
	TaskDefinition       string `json:"TaskDefinition"`
	NetworkConfiguration struct {
		AwsvpcConfiguration struct {
			Subnets        []string `json:"Subnets"`
			SecurityGroups []string `json:"SecurityGroups"`
			AssignPublicIp string   `json:"AssignPublicIp"`
		} `json:"AwsvpcConfiguration"`
	} `json:"NetworkConfiguration"`
	CapacityProviderStrategy []struct {
		CapacityProvider string `json:"CapacityProvider"`
	} `json:"CapacityProviderStrategy"`
	LoadBalancerInfo struct {
		ContainerName string `json:"ContainerName"`
		ContainerPort int    `json:"ContainerPort"`
	} `json:"LoadBalancerInfo"`
}

// NewSim installs a simulation on srv.
func NewSim(srv *Server) *Sim {
	s := &Sim{srv: srv, Steps: 2, crash: map[string]Crash{}, tasks: map[string]*simTask{},
		taskDefs: map[string]TaskDef{}, revisions: map[string]string{}, params: map[string]string{},
		logs: map[string][]LogEvent{}, alarms: map[string]alarmState{}}
	for op, h := range map[string]Handler{
		"DescribeServices": s.describeServices, "DescribeTaskSets": s.describeTaskSets, "UpdateService": s.updateService,
		"ListTasks": s.listTasks, "DescribeTasks": s.describeTasks, "RunTask": s.runTask, "TagResource": s.tagResource, "StopTask": s.stopTask,
		"ListDeployments": s.listDeployments, "GetDeployment": s.getDeployment, "CreateDeployment": s.createDeployment,
		"StopDeployment": s.stopDeployment, "ListDeploymentTargets": s.listTargets, "GetDeploymentTarget": s.getTarget,
		"GetApplicationRevision": s.getApplicationRevision, "BatchGetDeployments": s.batchGetDeployments,
		"GetParameter": s.getParameter, "PutParameter": s.putParameter,
		"DescribeTaskDefinition": s.describeTaskDefinition,
		"GetLogEvents":           s.getLogEvents, "FilterLogEvents": s.filterLogEvents,
		"DescribeTargetHealth": s.describeTargetHealth, "DescribeAlarms": s.describeAlarms,
	} {
		srv.Handle(op, h)
	}
	return s
}

// ServiceSpec is what CreateService is called with.
type ServiceSpec struct {
	Name, Cluster, TaskDefinition string
	Subnets, SecurityGroups       []string
	AssignPublicIP                bool
	CapacityProvider              string
	TargetGroup                   string
	ContainerName                 string
	ContainerPort                 int
	DesiredCount                  int
	// DeployedBy seeds a service whose PRIMARY task set an earlier CodeDeploy
	// deployment made; "" is a new service, as CreateService leaves it.
	DeployedBy string
}

// EnsureService is CreateService: the first call creates the service and its
// PRIMARY task set on the given revision; later calls change nothing, as with a
// Pulumi update that ignores what only CodeDeploy may change.
func (s *Sim) EnsureService(spec ServiceSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc != nil {
		return
	}
	assign := "DISABLED"
	if spec.AssignPublicIP {
		assign = "ENABLED"
	}
	s.svc = &simService{name: spec.Name, cluster: spec.Cluster, desired: int32(spec.DesiredCount), container: spec.ContainerName, port: spec.ContainerPort}
	s.svc.primary = s.newTaskSet(spec.TaskDefinition, "", map[string]any{
		"subnets": spec.Subnets, "securityGroups": spec.SecurityGroups, "assignPublicIp": assign,
	}, spec.CapacityProvider, spec.TargetGroup)
	s.svc.primary.externalID = spec.DeployedBy
	s.event("service created on %s with %d tasks", spec.TaskDefinition, spec.DesiredCount)
	if spec.DesiredCount > 0 {
		s.startTasks(s.svc.primary)
	}
}

// RegisterTaskDefinition records a revision's roles (Pulumi's RegisterTaskDefinition).
func (s *Sim) RegisterTaskDefinition(arn string, td TaskDef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taskDefs[arn] = td
}

// SetServiceRole records the deployment group's service role: CodeDeploy acts as
// it when it creates and moves task sets.
func (s *Sim) SetServiceRole(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serviceRol = arn
}

// HookFailsAfterTraffic makes the AfterAllowTraffic hook of a deployment of a
// revision fail, with message as CodeDeploy's diagnostics (a hook reports only a
// status, PutLifecycleEventHookExecutionStatus: the wording is CodeDeploy's, and
// unverified; the hook's reason is in its Lambda's logs): its tasks run and production
// traffic has moved to them (the hook runs "after the second target group serves
// traffic to the replacement task set", and its result "can trigger a rollback":
// CodeDeploy user guide, AppSpec 'hooks' section for an Amazon ECS deployment,
// read 2026-12). The deployment fails, its target shows AllowTraffic Succeeded
// and AfterAllowTraffic Failed, and the rollback moves traffic back and removes
// the replacement task set. Its error code HOOK_EXECUTION_FAILURE is one of
// ErrorInformation's codes; that CodeDeploy uses it here is unverified.
func (s *Sim) HookFailsAfterTraffic(taskDefinition, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.afterTraffic == nil {
		s.afterTraffic = map[string]string{}
	}
	s.afterTraffic[taskDefinition] = message
}

// Crashes makes the tasks of a revision stop right after they start.
func (s *Sim) Crashes(taskDefinition string, c Crash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crash[taskDefinition] = c
}

// StoppedEarlier adds a task of the service that stopped before now (an earlier
// attempt, a Spot interruption, a scale-in): ListTasks(STOPPED) returns such tasks
// for about an hour after they stopped, whatever stopped them.
func (s *Sim) StoppedEarlier(td, stopCode, reason string, exit int, ago time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	startedBy := "ecs-svc/earlier"
	if s.svc != nil {
		startedBy = s.svc.primary.id
	}
	arn := s.next("arn:aws:ecs:ap-northeast-2:123456789012:task/earlier/")
	s.tasks[arn] = &simTask{arn: arn, td: td, startedBy: startedBy, reason: reason, stopCode: stopCode, exit: exit, stopped: true, stoppedAt: time.Now().Add(-ago)}
	s.taskOrder = append(s.taskOrder, arn)
}

// StopsWhileStarting makes a task of the first revision stop, for a reason that
// says nothing of the revision (a Spot interruption, a termination notice, a
// scale-in), at the look-th look of its task set (DescribeServices): while the
// rollout judges it. The stop codes are ECS's (SpotInterruption,
// TerminationNotice, ServiceSchedulerInitiated: TaskStopCode, ECS API reference;
// "Stopped tasks error codes", ECS developer guide), and ListTasks(STOPPED)
// lists such tasks like any other.
func (s *Sim) StopsWhileStarting(td, stopCode, reason string, look int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.next("arn:aws:ecs:ap-northeast-2:123456789012:task/while/")
	s.stopAtLook = append(s.stopAtLook, stopAtLook{look, &simTask{arn: arn, td: td, reason: reason, stopCode: stopCode, stopped: true}})
}

type stopAtLook struct {
	look int
	task *simTask
}

// StartDeployment starts a deployment of td as another deployer would, and returns its id.
func (s *Sim) StartDeployment(td string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDeployment(td, "user", "").id
}

// SetStatus puts a deployment in a status, as time passing would (e.g. Baking, or
// Succeeded when its termination wait ends).
func (s *Sim) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.find(id); d != nil {
		d.status, d.looks = status, 0
	}
}

// Advance moves a deployment one step on, as a poll of it would.
func (s *Sim) Advance(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.find(id); d != nil {
		s.advance(d)
	}
}

// TaskDefinitionHandler is the sim's DescribeTaskDefinition, for a test that
// replaced it.
func (s *Sim) TaskDefinitionHandler() Handler { return s.describeTaskDefinition }

// RevisionHandler is the sim's GetApplicationRevision, for a test that replaced it.
func (s *Sim) RevisionHandler() Handler { return s.getApplicationRevision }

// TargetHandler is the sim's GetDeploymentTarget, for a test that replaced it.
func (s *Sim) TargetHandler() Handler { return s.getTarget }

// RaceCreates makes another deployer start a deployment of td just before each of
// the next n CreateDeployment calls arrives.
func (s *Sim) RaceCreates(td string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raceTD, s.races = td, n
}

// Serving returns the PRIMARY task set's revision and external id ("" before CreateService).
func (s *Sim) Serving() (taskDefinition, externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return "", ""
	}
	return s.svc.primary.td, s.svc.primary.externalID
}

// Desired returns the service's desired count.
func (s *Sim) Desired() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return 0
	}
	return int(s.svc.desired)
}

// Parameter returns an SSM parameter's value and whether it exists.
func (s *Sim) Parameter(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.params[name]
	return v, ok
}

// AdvancedParameter makes name an advanced-tier parameter holding value, as an
// account whose default tier is Advanced would have created it.
func (s *Sim) AdvancedParameter(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = value
	if s.advanced == nil {
		s.advanced = map[string]bool{}
	}
	s.advanced[name] = true
}

// Timeline returns what happened, in order.
func (s *Sim) Timeline() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.timeline)
}

// Deployment is a deployment as the sim knows it.
type Deployment struct {
	ID, TaskDefinition, Creator, Status string
	Content                             string // the AppSpec
}

// Deployments returns every deployment in creation order.
func (s *Sim) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.deps {
		out = append(out, Deployment{ID: d.id, TaskDefinition: d.td, Creator: d.creator, Status: d.status, Content: d.content})
	}
	return out
}

func (s *Sim) event(format string, args ...any) {
	s.timeline = append(s.timeline, Event{At: time.Now(), What: fmt.Sprintf(format, args...)})
}

func (s *Sim) next(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

func (s *Sim) newTaskSet(td, externalID string, network map[string]any, capacity, targetGroup string) *simTaskSet {
	id := s.next("ecs-svc/")
	return &simTaskSet{
		arn: fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task-set/%s/%s/%s", s.svc.cluster, s.svc.name, id),
		id:  id, td: td, externalID: externalID, network: network, capacity: capacity, targetGroup: targetGroup,
	}
}

// startTasks starts a task set's tasks: from here on they take traffic once healthy.
func (s *Sim) startTasks(ts *simTaskSet) {
	if ts.started {
		return
	}
	ts.started = true
	s.event("tasks of %s started", ts.td)
	if _, broken := s.crash[ts.td]; broken {
		return // its tasks crash instead (describeServices adds them, stopped)
	}
	for range max(s.svc.desired, 1) {
		t := s.newTask(ts.td, ts.id)
		s.log(t, "nginx", "start worker processes")
		s.log(t, "app", "[INFO] Listening at: http://0.0.0.0:8000")
	}
}

func sha(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}

func (s *Sim) addDeployment(td, creator, content string) *simDeployment {
	if content == "" && creator == "user" { // another deployer's AppSpec
		b, _ := json.Marshal(map[string]any{"version": "0.0", "Resources": []any{map[string]any{"TargetService": map[string]any{
			"Type": "AWS::ECS::Service", "Properties": map[string]any{"TaskDefinition": td},
		}}}})
		content = string(b)
	}
	d := &simDeployment{id: s.next("d-"), td: td, creator: creator, status: "Created", content: content, created: time.Now()}
	if content != "" {
		s.revisions[sha(content)] = content
		var spec struct {
			Resources []map[string]struct {
				Properties appSpecTarget `json:"Properties"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal([]byte(content), &spec); err == nil && len(spec.Resources) > 0 {
			d.spec = spec.Resources[0]["TargetService"].Properties
			d.td = d.spec.TaskDefinition
		}
	}
	s.deps = append(s.deps, d)
	s.event("deployment %s of %s created by %s", d.id, d.td, creator)
	return d
}

// deployment is the deployment a request names, or CodeDeploy's error for none.
func (s *Sim) deployment(body map[string]any) (*simDeployment, *Error) {
	if d := s.find(fmt.Sprint(body["deploymentId"])); d != nil {
		return d, nil
	}
	return nil, notFound("DeploymentDoesNotExistException", "no such deployment")
}

func (s *Sim) find(id string) *simDeployment {
	for _, d := range s.deps {
		if d.id == id {
			return d
		}
	}
	return nil
}

// simDone are CodeDeploy's terminal statuses; every other one (Created, Queued,
// InProgress, Baking, Ready) is active and blocks a new deployment.
var simDone = []string{"Succeeded", "Failed", "Stopped"}

func (s *Sim) active() *simDeployment {
	for _, d := range s.deps {
		if !slices.Contains(simDone, d.status) {
			return d
		}
	}
	return nil
}

// startRollback starts the rollback deployment of d, back to what served before.
// The failed deployment names it only a poll later: ecspresso waits for both the
// status and rollbackInfo.rollbackDeploymentId (kayac/ecspresso, deploy wait).
func (s *Sim) startRollback(d *simDeployment) {
	td := ""
	if s.svc != nil {
		td = s.svc.primary.td
	}
	rb := s.addDeployment(td, "codeDeployRollback", "")
	rb.status = "InProgress"
	rb.rollbackOf = d
	d.rollbackID = rb.id
	if d.previous != nil { // traffic had moved: the rollback moves it back
		rb.td = d.previous.td
	}
}

func (s *Sim) fail(d *simDeployment, event, code, message string) {
	d.status, d.errCode, d.errMessage = "Failed", code, message
	d.failedEvent, d.diagnostics = event, message
	s.event("deployment %s failed: %s", d.id, code)
	s.startRollback(d)
}

// advance moves a deployment one step on, as time passing would.
func (s *Sim) advance(d *simDeployment) {
	d.looks++
	switch d.status {
	case "Created":
		d.status = "InProgress"
		d.looks = 0
	case "Baking": // active, like InProgress; it ends on its own
		if d.looks >= s.Steps {
			d.status = "Succeeded"
		}
	case "InProgress":
		if d.creator == "codeDeployRollback" {
			if d.looks >= s.Steps {
				d.status = "Succeeded"
				// Traffic is back on the old tasks: the alarm that stopped the deployment
				// returns to OK within its evaluation periods (here at once).
				for name := range s.alarms {
					s.alarms[name] = alarmState{"OK", "Threshold Crossed: datapoints were below the threshold"}
				}
				if o := d.rollbackOf; o != nil && o.green != nil { // the replacement task set is removed
					// The wording is unverified: ECS names its own deployment or task set.
					s.stopTasksOf(o.green, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+o.green.id+")")
				}
				if o := d.rollbackOf; o != nil && o.previous != nil && s.svc != nil {
					s.svc.primary = o.previous
					s.event("rollback %s: %s serves again", d.id, o.previous.td)
				}
			}
			return
		}
		if d.waiting { // the old tasks' termination wait; then the deployment succeeds at once
			if d.looks >= s.Steps+s.waitLooks() {
				d.status = "Succeeded"
				if d.previous != nil {
					s.stopTasksOf(d.previous, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+d.id+")")
				}
				s.event("deployment %s succeeded", d.id)
			}
			return
		}
		if d.looks < s.Steps {
			return
		}
		if why := s.createTaskSetAs(d); why != "" {
			// CodeDeploy reports a failed ECS call as ECS_UPDATE_ERROR (ErrorInformation,
			// CodeDeploy API reference), in the Install lifecycle event.
			s.fail(d, "Install", "ECS_UPDATE_ERROR", "The ECS service cannot be updated due to an unexpected error: "+why)
			return
		}
		if c, broken := s.crash[d.td]; broken {
			if (c.HealthCheckCodes != "" || c.Alarm != "") && d.green == nil {
				// The replacement tasks run, behind the test listener's group: they fail
				// its checks for a while before ECS gives up on them, or (Alarm) they
				// serve errors until the group's alarm goes off.
				d.green = s.newTaskSet(d.td, d.id, s.svc.primary.network, s.svc.primary.capacity, s.otherTargetGroup(s.svc.primary.targetGroup))
				for range 3 {
					s.runFailingTask(d.green, c).deployment = d.id
				}
				return
			}
			if c.Alarm != "" {
				// CodeDeploy stops a deployment whose group's alarm goes off
				// (DEPLOYMENT_STOP_ON_ALARM) and rolls it back; its tasks run until the
				// rollback removes their task set.
				s.alarms[c.Alarm] = alarmState{"ALARM", "Threshold Crossed: 2 datapoints [1.0, 1.0] were greater than or equal to the threshold (1.0)."}
				d.status, d.errCode = "Stopped", "ALARM_ACTIVE"
				d.errMessage = "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped."
				s.event("deployment %s stopped on alarm %s", d.id, c.Alarm)
				s.startRollback(d)
				return
			}
			if d.green != nil {
				// ECS stops the tasks and starts replacements, whose targets are then
				// in their initial checks (ECS developer guide, service throttle logic:
				// it "deregisters it and stops the task").
				s.stopTasksOf(d.green, "ServiceSchedulerInitiated", "Task failed ELB health checks in (target-group "+d.green.targetGroup+")")
				s.runFailingTask(d.green, c).initial = true
				// Unverified: the deployment then fails at Install (HEALTH_CONSTRAINTS);
				// aws/containers-roadmap#1941 reports CodeDeploy completing with an
				// unhealthy replacement task set instead.
				s.fail(d, "Install", "HEALTH_CONSTRAINTS", "The deployment failed because the replacement task set did not become healthy: tasks failed ELB health checks")
				return
			}
			green := s.newTaskSet(d.td, d.id, s.svc.primary.network, s.svc.primary.capacity, s.otherTargetGroup(s.svc.primary.targetGroup))
			for range 3 {
				s.crashTask(green, c).deployment = d.id
			}
			s.fail(d, "Install", "HEALTH_CONSTRAINTS", "The deployment failed because the replacement task set did not become healthy: "+c.Reason)
			return
		}
		// All traffic moves to the new task set; the old one waits to be terminated.
		d.waiting = true
		if s.svc != nil {
			net := s.svc.primary.network
			if sub := d.spec.NetworkConfiguration.AwsvpcConfiguration; len(sub.Subnets) > 0 {
				net = map[string]any{"subnets": sub.Subnets, "securityGroups": sub.SecurityGroups, "assignPublicIp": sub.AssignPublicIp}
			}
			capacity := s.svc.primary.capacity
			if len(d.spec.CapacityProviderStrategy) > 0 {
				capacity = d.spec.CapacityProviderStrategy[0].CapacityProvider
			}
			d.previous = s.svc.primary
			s.svc.primary = s.newTaskSet(d.td, d.id, net, capacity, s.otherTargetGroup(s.svc.primary.targetGroup))
			s.startTasks(s.svc.primary)
			if msg, fails := s.afterTraffic[d.td]; fails {
				// Its tasks serve; the original task set still runs (CodeDeploy
				// terminates it only after AfterAllowTraffic and the termination
				// wait: AppSpec 'hooks' section for ECS), so the rollback moves
				// traffic back to running tasks and removes the replacement.
				s.event("deployment %s: traffic on %s", d.id, d.td)
				d.waiting, d.green = false, s.svc.primary
				s.fail(d, "AfterAllowTraffic", "HOOK_EXECUTION_FAILURE", msg)
				return
			}
			// The original tasks run on through the termination wait (CodeDeploy
			// terminates the original task set when it ends), so a stop with
			// rollback meanwhile moves traffic back to running tasks.
			d.green = s.svc.primary
			s.event("deployment %s: traffic on %s; termination wait", d.id, d.td)
		}
	}
}

func (s *Sim) waitLooks() int {
	if s.WaitLooks > 0 {
		return s.WaitLooks
	}
	return s.Steps
}

// createTaskSetAs checks what CodeDeploy's CreateTaskSet needs as the group's
// service role: passing the task definition's roles to ECS tasks (the ECS
// developer guide, "Amazon ECS CodeDeploy IAM Role"). It returns AWS's denial, or "".
func (s *Sim) createTaskSetAs(d *simDeployment) string {
	if s.Authorize == nil {
		return ""
	}
	td := s.taskDefs[d.td]
	for _, role := range []string{td.ExecutionRole, td.TaskRole} {
		if role == "" {
			continue
		}
		if why := s.Authorize(s.serviceRol, "iam:PassRole", role, map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}); why != "" {
			return fmt.Sprintf("User: %s is not authorized to perform: iam:PassRole on resource: %s because %s", assumed(s.serviceRol), role, why)
		}
	}
	return ""
}

// assumed is the principal AWS names in a denial of a role's session.
func assumed(roleARN string) string {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	account := strings.Split(roleARN, ":")
	acct := "123456789012"
	if len(account) > 4 {
		acct = account[4]
	}
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/CodeDeploy", acct, name)
}

func (s *Sim) info(d *simDeployment) map[string]any {
	if !Active(d.status) && d.completed.IsZero() {
		d.completed = time.Now()
	}
	info := map[string]any{
		"deploymentId": d.id, "status": d.status, "creator": d.creator,
		"applicationName": "app", "deploymentGroupName": "group",
		"createTime": float64(d.created.UnixMilli()) / 1000,
		// Never true for ECS deployments, even during the termination wait: a
		// CodeDeploy bug AWS acknowledged in aws/containers-roadmap#269 (open).
		"instanceTerminationWaitTimeStarted": false,
	}
	if d.content != "" {
		// "The content property of the appSpecContent object in the returned
		// revision is always null" (GetDeployment, CodeDeploy API reference).
		info["revision"] = map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"sha256": sha(d.content)}}
	}
	if d.errCode != "" {
		info["errorInformation"] = map[string]any{"code": d.errCode, "message": d.errMessage}
	}
	if !d.completed.IsZero() {
		info["completeTime"] = float64(d.completed.UnixMilli()) / 1000
	}
	if d.description != "" {
		info["description"] = d.description
	}
	if d.rollbackID != "" && d.terminalAnswers >= 1 {
		info["rollbackInfo"] = map[string]any{"rollbackDeploymentId": d.rollbackID}
	}
	if d.rollbackOf != nil { // a rollback names the deployment it rolls back (RollbackInfo)
		info["rollbackInfo"] = map[string]any{"rollbackTriggeringDeploymentId": d.rollbackOf.id, "rollbackMessage": "Rolled back deployment " + d.rollbackOf.id}
	}
	return info
}

func notFound(typ, msg string) *Error { return &Error{Status: 400, Type: typ, Message: msg} }

func (s *Sim) getDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deployment(body)
	if e != nil {
		return nil, e
	}
	s.advance(d)
	out := map[string]any{"deploymentInfo": s.info(d)}
	if slices.Contains(simDone, d.status) {
		d.terminalAnswers++
	}
	return out, nil
}

func (s *Sim) getApplicationRevision(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rev, _ := body["revision"].(map[string]any)
	asc, _ := rev["appSpecContent"].(map[string]any)
	hash, _ := asc["sha256"].(string)
	content, ok := s.revisions[hash]
	if rev["revisionType"] != "AppSpecContent" || !ok {
		return nil, &Error{Status: 400, Type: "RevisionDoesNotExistException", Message: "The named revision does not exist with the IAM user or Amazon Web Services account."}
	}
	return map[string]any{
		"applicationName": body["applicationName"],
		"revision":        map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": content, "sha256": hash}},
		"revisionInfo":    map[string]any{"description": "Application revision registered by a deployment"},
	}, nil
}

func (s *Sim) listDeployments(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var want []string
	if l, ok := body["includeOnlyStatuses"].([]any); ok {
		for _, v := range l {
			want = append(want, fmt.Sprint(v))
		}
	}
	ids := []string{}
	// Newest first, as the console and CLI show them (ecspresso relies on it too).
	for i := len(s.deps) - 1; i >= 0; i-- {
		if d := s.deps[i]; len(want) == 0 || slices.Contains(want, d.status) {
			ids = append(ids, d.id)
		}
	}
	page, next := s.page(ids, body["nextToken"])
	out := map[string]any{"deployments": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// page cuts a list into pages of PageSize, with a token for the next.
func (s *Sim) page(items []string, token any) ([]string, string) {
	size := s.PageSize
	if size <= 0 {
		size = 2
	}
	from := 0
	if t, ok := token.(string); ok {
		fmt.Sscanf(t, "page-%d", &from)
	}
	from = min(from, len(items))
	to := min(from+size, len(items))
	if to < len(items) {
		return items[from:to], fmt.Sprintf("page-%d", to)
	}
	return items[from:to], ""
}

// batchGetDeployments answers up to 25 deployments at once.
func (s *Sim) batchGetDeployments(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, _ := body["deploymentIds"].([]any)
	if len(ids) > 25 {
		return nil, &Error{Status: 400, Type: "BatchLimitExceededException", Message: "The maximum number of deployment IDs is 25"}
	}
	infos := []any{}
	for _, id := range ids {
		if d := s.find(fmt.Sprint(id)); d != nil {
			s.advance(d)
			infos = append(infos, s.info(d))
			if !Active(d.status) {
				d.terminalAnswers++
			}
		}
	}
	return map[string]any{"deploymentsInfo": infos}, nil
}

func (s *Sim) createDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.races > 0 && s.active() == nil {
		s.addDeployment(s.raceTD, "user", "")
		s.races--
	}
	if a := s.active(); a != nil {
		return nil, &Error{Status: 400, Type: "DeploymentLimitExceededException",
			Message: fmt.Sprintf("The Deployment Group already has an active Deployment '%s'", a.id)}
	}
	rev, _ := body["revision"].(map[string]any)
	asc, _ := rev["appSpecContent"].(map[string]any)
	content, _ := asc["content"].(string)
	d := s.addDeployment("", "user", content)
	d.description, _ = body["description"].(string)
	if d.td == "" {
		return nil, &Error{Status: 400, Type: "InvalidRevisionException", Message: "AppSpec has no TargetService TaskDefinition"}
	}
	if s.svc != nil && (d.spec.LoadBalancerInfo.ContainerName != s.svc.container || d.spec.LoadBalancerInfo.ContainerPort == 0) {
		d.status, d.errCode, d.errMessage = "Failed", "ECS_UPDATE_ERROR", "The load balancer container in the AppSpec does not match the service"
	}
	return map[string]any{"deploymentId": d.id}, nil
}

func (s *Sim) stopDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deployment(body)
	if e != nil {
		return nil, e
	}
	if slices.Contains(simDone, d.status) {
		return nil, &Error{Status: 400, Type: "DeploymentAlreadyCompletedException", Message: fmt.Sprintf("Deployment %s has already completed", d.id)}
	}
	d.status, d.errCode, d.errMessage = "Stopped", "DEPLOYMENT_STOPPED", "The deployment was stopped by the user"
	s.event("deployment %s stopped", d.id)
	if body["autoRollbackEnabled"] == true {
		s.startRollback(d)
	}
	return map[string]any{"status": "Pending", "statusMessage": "stopping"}, nil
}

func (s *Sim) listTargets(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.deployment(body); e != nil {
		return nil, e
	}
	return map[string]any{"targetIds": []string{"cluster:service"}}, nil
}

// ecsEvents are the lifecycle events of an ECS deployment target, in order.
var ecsEvents = []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}

// getTarget answers the ECS deployment target. When all lifecycle events through
// AfterAllowTraffic are done and green has all traffic, the target is Succeeded
// while the deployment stays InProgress for the termination wait: AWS's answer in
// aws/containers-roadmap#269 ("the deployment starts waiting immediately after
// marking the target status as Succeeded").
func (s *Sim) getTarget(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deployment(body)
	if e != nil {
		return nil, e
	}
	status, green := "InProgress", 0.0
	done := 1 // BeforeInstall
	switch {
	case d.status == "Stopped" || d.failedEvent != "":
		status = "Failed"
		if i := slices.Index(ecsEvents, d.failedEvent); i > done { // the events before it succeeded
			done = i
		}
	case d.waiting || d.status == "Succeeded":
		status, green, done = "Succeeded", 100, len(ecsEvents)
	}
	var events []any
	for i, name := range ecsEvents {
		ev := map[string]any{"lifecycleEventName": name, "status": "Pending"}
		switch {
		case i < done:
			ev["status"] = "Succeeded"
		case name == d.failedEvent:
			ev["status"] = "Failed"
			// LifecycleEvent Diagnostics errorCode is one of Success, ScriptMissing,
			// ScriptNotExecutable, ScriptTimedOut, ScriptFailed, UnknownError (API
			// reference); which one an ECS Install failure carries is unverified.
			ev["diagnostics"] = map[string]any{"errorCode": "UnknownError", "message": d.diagnostics}
		case i == done && d.status == "InProgress":
			ev["status"] = "InProgress"
		}
		events = append(events, ev)
	}
	return map[string]any{"deploymentTarget": map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": map[string]any{
		"deploymentId": d.id, "targetId": "cluster:service", "status": status, "lifecycleEvents": events,
		"taskSetsInfo": []any{
			map[string]any{"taskSetLabel": "Blue", "trafficWeight": 100 - green},
			map[string]any{"taskSetLabel": "Green", "trafficWeight": green},
		},
	}}}, nil
}

// serviceFor answers for the service named in a request, or nil.
func (s *Sim) serviceFor(name any) *simService {
	if s.svc == nil {
		return nil
	}
	n := fmt.Sprint(name)
	if n == s.svc.name || strings.HasSuffix(n, "/"+s.svc.name) {
		return s.svc
	}
	return nil
}

func (s *Sim) taskSetJSON(ts *simTaskSet) map[string]any {
	desired := s.svc.desired
	running, pending, stability := desired, int32(0), "STEADY_STATE"
	if ts.externalID == "" && desired > 0 { // started by CreateService: judge by its revision
		if _, broken := s.crash[ts.td]; broken {
			running, pending, stability = 0, desired, "STABILIZING"
		} else if ts.looks < s.Steps {
			running, pending, stability = 0, desired, "STABILIZING"
		}
	}
	out := map[string]any{
		"id": ts.id, "taskSetArn": ts.arn, "status": "PRIMARY", "taskDefinition": ts.td,
		"computedDesiredCount": desired, "runningCount": running, "pendingCount": pending,
		"stabilityStatus": stability, "platformVersion": "1.4.0",
		"networkConfiguration": map[string]any{"awsvpcConfiguration": ts.network},
		"loadBalancers":        []any{map[string]any{"targetGroupArn": ts.targetGroup, "containerName": s.svc.container, "containerPort": s.svc.port}},
	}
	if ts.externalID != "" {
		out["externalId"] = ts.externalID
	}
	if ts.capacity != "" {
		out["capacityProviderStrategy"] = []any{map[string]any{"capacityProvider": ts.capacity, "weight": 1, "base": 0}}
	}
	return out
}

func (s *Sim) describeServices(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, _ := body["services"].([]any)
	if len(names) > 0 {
		if rs := s.rollingFor(names[0]); rs != nil {
			return map[string]any{"services": []any{s.describeRolling(rs)}}, nil
		}
	}
	if len(names) == 0 || s.serviceFor(names[0]) == nil {
		return map[string]any{"services": []any{}, "failures": []any{map[string]any{"reason": "MISSING"}}}, nil
	}
	ts := s.svc.primary
	if ts.externalID == "" && s.svc.desired > 0 {
		ts.looks++
		if c, broken := s.crash[ts.td]; broken { // each look, another task has crashed
			s.crashTask(ts, c)
		}
		s.stopAtLook = slices.DeleteFunc(s.stopAtLook, func(st stopAtLook) bool {
			if st.look > ts.looks {
				return false
			}
			t := st.task
			t.startedBy, t.stoppedAt = ts.id, time.Now()
			s.tasks[t.arn] = t
			s.taskOrder = append(s.taskOrder, t.arn)
			return true
		})
	}
	sets := []any{s.taskSetJSON(ts)}
	events := []any{}
	for i := len(s.timeline) - 1; i >= 0 && len(events) < 10; i-- {
		e := s.timeline[i]
		events = append(events, map[string]any{"id": fmt.Sprint(i), "createdAt": float64(e.At.UnixMilli()) / 1000, "message": "(service " + s.svc.name + ") " + e.What})
	}
	if a := s.active(); a != nil && a.creator != "codeDeployRollback" && a.status == "InProgress" && !a.waiting {
		// The replacement task set, not yet behind production traffic.
		green := s.taskSetJSON(&simTaskSet{arn: ts.arn + "-replacement", id: "ecs-svc/replacement", td: a.td, externalID: a.id, network: ts.network, capacity: ts.capacity, targetGroup: s.otherTargetGroup(ts.targetGroup)})
		green["status"] = "ACTIVE"
		sets = append(sets, green)
	}
	return map[string]any{"services": []any{map[string]any{
		"serviceName": s.svc.name, "clusterArn": s.svc.cluster, "status": "ACTIVE",
		"desiredCount": s.svc.desired, "taskDefinition": ts.td,
		"deploymentController": map[string]any{"type": "CODE_DEPLOY"},
		"taskSets":             sets,
		"events":               events,
	}}}, nil
}

// updateService is UpdateService of a CODE_DEPLOY service: only the desired count
// (and a few settings the rollout never sends) may change.
func (s *Sim) updateService(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.serviceFor(body["service"])
	if svc == nil {
		return nil, notFound("ServiceNotFoundException", "Service not found.")
	}
	for _, k := range []string{"taskDefinition", "networkConfiguration", "loadBalancers", "platformVersion"} {
		if _, ok := body[k]; ok {
			return nil, &Error{Status: 400, Type: "InvalidParameterException", Message: "Unable to update " + k + " on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment."}
		}
	}
	if n, ok := body["desiredCount"].(float64); ok {
		svc.desired = int32(n)
		s.event("desired count %d", svc.desired)
		if svc.desired > 0 {
			s.startTasks(svc.primary)
		}
	}
	return map[string]any{"service": map[string]any{"serviceName": svc.name, "desiredCount": svc.desired}}, nil
}

func (s *Sim) describeTaskSets(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serviceFor(body["service"]) == nil {
		return nil, notFound("ServiceNotFoundException", "service not found")
	}
	out := []any{}
	if arns, _ := body["taskSets"].([]any); slices.Contains(arns, any(s.svc.primary.arn)) {
		out = append(out, s.taskSetJSON(s.svc.primary))
	}
	return map[string]any{"taskSets": out}, nil
}

// tagResource answers as ECS does for a task set: TagResource's API reference lists
// capacity providers, tasks, services, task definitions, clusters and container
// instances as taggable, not task sets.
func (s *Sim) tagResource(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return nil, &Error{Status: 400, Type: "InvalidParameterException", Message: "The specified resource type is not supported for tagging"}
}

func (s *Sim) runTask(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task/%s/%s", s.clusterName(), strings.Repeat("0", 26)+s.next(""))
	s.tasks[arn] = &simTask{arn: arn, td: fmt.Sprint(body["taskDefinition"]), startedBy: fmt.Sprint(body["startedBy"]), exit: s.MigrationExit, startedAt: time.Now()}
	if o, ok := body["overrides"].(map[string]any); ok {
		if cs, ok := o["containerOverrides"].([]any); ok && len(cs) > 0 {
			c, _ := cs[0].(map[string]any)
			cmd, _ := c["command"].([]any)
			s.log(s.tasks[arn], fmt.Sprint(c["name"]), fmt.Sprintf("running %v", cmd))
		}
	}
	s.taskOrder = append(s.taskOrder, arn)
	s.event("one-off task of %s started", body["taskDefinition"])
	return map[string]any{"tasks": []any{map[string]any{"taskArn": arn, "lastStatus": "PROVISIONING"}}}, nil
}

// getParameter and putParameter are SSM's, for String parameters.
func (s *Sim) getParameter(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := fmt.Sprint(body["Name"])
	v, ok := s.params[name]
	if !ok {
		return nil, &Error{Status: 400, Type: "ParameterNotFound", Message: ""}
	}
	return map[string]any{"Parameter": map[string]any{"Name": name, "Type": "String", "Value": v, "Version": 1}}, nil
}

func (s *Sim) putParameter(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := fmt.Sprint(body["Name"])
	if _, exists := s.params[name]; exists && body["Overwrite"] != true {
		return nil, &Error{Status: 400, Type: "ParameterAlreadyExists", Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	}
	value := fmt.Sprint(body["Value"])
	// A Standard parameter holds 4 KB ("Standard parameters have a content size
	// limit of 4 KB", PutParameter's Tier in the SSM API reference); past it AWS
	// answers this ValidationException (the text as returned, quoted in
	// gist.github.com/seanpascual, status 400; seen 2026-12). Counted in bytes
	// here, never fewer than characters. Intelligent-Tiering makes a larger value
	// Advanced (8 KB, billed) instead, as Advanced does; no Tier is the account's
	// default, Standard unless changed.
	tier := fmt.Sprint(body["Tier"])
	if body["Tier"] == nil {
		tier = "Standard"
	}
	if s.advanced[name] && tier != "Advanced" {
		// "You can't revert an advanced parameter to a standard parameter" (SSM
		// user guide, "Managing parameter tiers"); an explicit Standard is answered
		// with this error (quoted in go-to-k/cdk-real-drift#408). That
		// Intelligent-Tiering is answered so too is unverified: the sim takes the
		// answer that fails, and the rollout copes with it.
		return nil, &Error{Status: 400, Type: "ValidationException", Message: "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter."}
	}
	if n := len(value); n > 4096 {
		if tier == "Standard" {
			return nil, &Error{Status: 400, Type: "ValidationException", Message: "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"}
		}
		tier = "Advanced"
	} else if tier == "Intelligent-Tiering" {
		tier = "Standard"
	}
	s.params[name] = value
	if tier == "Advanced" {
		if s.advanced == nil {
			s.advanced = map[string]bool{}
		}
		s.advanced[name] = true
	}
	s.event("parameter %s written", name)
	return map[string]any{"Version": 1, "Tier": tier}, nil
}
