package controller

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
)

// updateStatus is the one conflict-retry loop behind every status write (GatewayClass,
// Gateway, routes). desired computes the object to write from the latest copy of it and
// whether that changes anything; nothing is written when it does not. On a conflict the object
// is read again and desired recomputed from the fresh copy, so another writer's entries
// (other controllers, other Gateways) are never lost. An object deleted meanwhile has no status
// left to report on.
func updateStatus[T any](ctx context.Context, current T, desired func(current T) (T, bool),
	update func(context.Context, T) error, get func(context.Context) (T, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		upd, changed := desired(current)
		if !changed {
			return nil
		}
		err := update(ctx, upd)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			if fresh, getErr := get(ctx); getErr == nil {
				current = fresh
			}
		}
		return err
	})
}
