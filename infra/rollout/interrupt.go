package rollout

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Interruptible returns a context that is cancelled when the process receives an
// interrupt (Ctrl-C, which the terminal sends to `pulumi up` and the program alike)
// or SIGTERM (a CI runner cancelling the job), instead of the process dying with
// the deployment's id unsaid. The rollout then stops following, leaves the
// deployment to CodeDeploy and says how to follow it. Call stop when done.
func Interruptible(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
