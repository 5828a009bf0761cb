package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// QueuesArgs configures NewQueues.
type QueuesArgs struct {
	Queues map[string]QueueConfig
	Tags   pulumi.StringMap
}

// Queues are the stack's SQS queues, each with its dead-letter queue. Web may send
// to them, workers and schedules send and consume; each is granted by ARN.
type Queues struct {
	pulumi.ResourceState

	Queue      map[string]*sqs.Queue
	DeadLetter map[string]*sqs.Queue
	// Environment is NAME_QUEUE_URL: queue URL for every queue, what the app's
	// containers get.
	Environment pulumi.StringMapOutput
	// ARNs are the queues' ARNs (not the dead-letter queues'), by name order.
	ARNs pulumi.StringArrayOutput
}

// QueueEnv is the environment variable that carries a queue's URL.
func QueueEnv(queue string) string {
	return strings.ToUpper(strings.ReplaceAll(queue, "-", "_")) + "_QUEUE_URL"
}

// redrivePolicy is SQS's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// NewQueues creates each queue and its dead-letter queue.
func NewQueues(ctx *pulumi.Context, name string, args *QueuesArgs, opts ...pulumi.ResourceOption) (*Queues, error) {
	q := &Queues{Queue: map[string]*sqs.Queue{}, DeadLetter: map[string]*sqs.Queue{}}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Queues", name, q, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(q)
	env, arns := pulumi.StringMap{}, pulumi.StringArray{}
	for _, qn := range slices.Sorted(maps.Keys(args.Queues)) {
		c := args.Queues[qn]
		// SSE-SQS encrypts at rest (FSBP SQS.1); a dead-letter queue keeps
		// messages the longest SQS allows, 14 days.
		dlq, err := sqs.NewQueue(ctx, name+"-"+qn+"-dlq", &sqs.QueueArgs{
			MessageRetentionSeconds: pulumi.Int(14 * 24 * 3600),
			SqsManagedSseEnabled:    pulumi.Bool(true),
			Tags:                    args.Tags,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating dead-letter queue of %s: %w", qn, err)
		}
		redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
			b, err := json.Marshal(redrivePolicy{DeadLetterTargetArn: arn, MaxReceiveCount: c.MaxReceiveCount})
			return string(b), err
		}).(pulumi.StringOutput)
		queue, err := sqs.NewQueue(ctx, name+"-"+qn, &sqs.QueueArgs{
			VisibilityTimeoutSeconds: pulumi.Int(c.VisibilityTimeoutSeconds),
			MessageRetentionSeconds:  pulumi.Int(c.RetentionDays * 24 * 3600),
			// Long polling by default: a receive waits up to 20 s for a message, so
			// an idle worker makes three requests a minute, not hundreds.
			ReceiveWaitTimeSeconds: pulumi.Int(20),
			RedrivePolicy:          redrive,
			SqsManagedSseEnabled:   pulumi.Bool(true),
			Tags:                   args.Tags,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating queue %s: %w", qn, err)
		}
		q.Queue[qn], q.DeadLetter[qn] = queue, dlq
		env[QueueEnv(qn)] = queue.Url
		arns = append(arns, queue.Arn)
	}
	q.Environment, q.ARNs = env.ToStringMapOutput(), arns.ToStringArrayOutput()
	return q, ctx.RegisterResourceOutputs(q, pulumi.Map{"environment": q.Environment})
}

// Grant lets a role use every queue by ARN: send only (web, which enqueues), or
// send and consume (workers and schedules).
func (q *Queues) Grant(ctx *pulumi.Context, name string, role *iam.Role, consume bool) (*iam.RolePolicy, error) {
	doc := q.ARNs.ApplyT(func(arns []string) (string, error) {
		return queuePolicy(arns, consume)
	}).(pulumi.StringOutput)
	p, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.Name, Policy: doc}, pulumi.Parent(q))
	if err != nil {
		return nil, fmt.Errorf("granting the queues to %s: %w", name, err)
	}
	return p, nil
}

// queueActions are what a producer and a consumer of a queue call (SQS API
// reference): GetQueueUrl and GetQueueAttributes to find and watch it.
var (
	queueSendActions    = []string{"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}
	queueConsumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
)

func queuePolicy(arns []string, consume bool) (string, error) {
	doc := policy(policyStatement{Sid: "SendToQueues", Effect: "Allow", Action: queueSendActions, Resource: arns})
	if consume {
		doc.Statement = append(doc.Statement, policyStatement{Sid: "ConsumeQueues", Effect: "Allow", Action: queueConsumeActions, Resource: arns})
	}
	return doc.JSON()
}
