// Package businesslogic serves the account domain as evented.BusinessLogic.
//
// evented sends the aggregate's prior state (its latest snapshot and the events after it) with the command;
// the answer is the new events, and a snapshot every SnapshotEvery events so that loading an account never
// replays its whole history.
package businesslogic

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bank/gen/evented"
	"bank/internal/account"
)

// Server is the account business logic.
type Server struct {
	evented.UnimplementedBusinessLogicServer
	// SnapshotEvery: a snapshot is returned each time the number of events crosses a multiple of it (0: never).
	SnapshotEvery uint32
}

// Handle decides. A refused command is answered with INVALID_ARGUMENT or FAILED_PRECONDITION and its reason;
// nothing is stored.
func (s *Server) Handle(_ context.Context, cmd *evented.ContextualCommand) (*evented.EventBook, error) {
	book, err := HandleCommand(cmd, s.SnapshotEvery, time.Now())
	var refused *account.Error
	if errors.As(err, &refused) {
		code := codes.FailedPrecondition
		if refused.Kind == account.Invalid {
			code = codes.InvalidArgument
		}
		return nil, status.Error(code, refused.Message)
	}
	return book, err
}

// PriorState folds the snapshot and the events after it; it returns the state and the sequence the next
// event gets.
func PriorState(events *evented.EventBook) (account.State, uint32, error) {
	var state account.State
	var next uint32
	if snapshot := events.GetSnapshot(); snapshot != nil {
		next = snapshot.GetSequence()
		if snapshot.GetState() != nil {
			var err error
			if state, err = account.UnpackState(snapshot.GetState()); err != nil {
				return state, next, err
			}
		}
	}
	for _, page := range events.GetPages() {
		if e, ok := account.UnpackEvent(page.GetEvent()); ok {
			state = account.Evolve(state, e)
		}
		if num, ok := page.GetSequence().(*evented.EventPage_Num); ok {
			next = num.Num
		}
		next++
	}
	return state, next, nil
}

// HandleCommand returns the events the command's pages decide, numbered after the prior ones, with a
// snapshot when one is due.
func HandleCommand(
	cmd *evented.ContextualCommand, snapshotEvery uint32, now time.Time,
) (*evented.EventBook, error) {
	state, next, err := PriorState(cmd.GetEvents())
	if err != nil {
		return nil, err
	}
	first := next
	created := timestamppb.New(now)
	book := &evented.EventBook{Cover: cmd.GetCommand().GetCover()}
	for i, page := range cmd.GetCommand().GetPages() {
		c, ok := account.UnpackCommand(page.GetCommand())
		if !ok {
			return nil, &account.Error{Kind: account.Invalid, Message: fmt.Sprintf(
				"pages[%d].command has an unknown type: %s", i, page.GetCommand().GetTypeUrl())}
		}
		events, err := account.Decide(state, c)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			state = account.Evolve(state, e)
			book.Pages = append(book.Pages, &evented.EventPage{
				Sequence:    &evented.EventPage_Num{Num: next},
				CreatedAt:   created,
				Event:       account.Pack(e),
				Synchronous: page.GetSynchronous(),
			})
			next++
		}
	}
	if snapshotEvery > 0 && next/snapshotEvery > first/snapshotEvery {
		book.Snapshot = &evented.Snapshot{Sequence: next, State: account.PackState(state)}
	}
	return book, nil
}
