package businesslogic_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	accountv1 "bank/gen/account/v1"
	"bank/gen/evented"
	"bank/internal/account"
	"bank/internal/businesslogic"
)

var cover = &evented.Cover{Domain: "account", Root: &evented.UUID{Value: make([]byte, 16)}}

func page(num uint32, e account.Event) *evented.EventPage {
	return &evented.EventPage{Sequence: &evented.EventPage_Num{Num: num}, Event: account.Pack(e)}
}

func contextual(
	c account.Command, snapshot *evented.Snapshot, prior ...*evented.EventPage,
) *evented.ContextualCommand {
	return &evented.ContextualCommand{
		Events: &evented.EventBook{Cover: cover, Snapshot: snapshot, Pages: prior},
		Command: &evented.CommandBook{Cover: cover, Pages: []*evented.CommandPage{
			{Synchronous: true, Command: account.Pack(c)},
		}},
	}
}

func TestNumbersNewEventsAfterThePriorOnesAndKeepsTheSynchronousFlag(t *testing.T) {
	cmd := contextual(&accountv1.Deposit{Amount: 5}, nil, page(0, &accountv1.AccountOpened{Owner: "ada"}))
	book, err := businesslogic.HandleCommand(cmd, 0, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(book.GetPages()) != 1 {
		t.Fatalf("pages = %v, want one", book.GetPages())
	}
	p := book.GetPages()[0]
	e, _ := account.UnpackEvent(p.GetEvent())
	want := &accountv1.MoneyDeposited{Amount: 5, Balance: 5}
	if p.GetNum() != 1 || !p.GetSynchronous() || !proto.Equal(e, want) {
		t.Errorf("page = %v", p)
	}
	if !proto.Equal(book.GetCover(), cover) || book.GetSnapshot() != nil {
		t.Errorf("book = %v", book)
	}
}

func TestFoldsASnapshotAndTheEventsAfterIt(t *testing.T) {
	snapshot := &evented.Snapshot{
		Sequence: 4,
		State:    account.PackState(account.State{Open: true, Owner: "ada", Balance: 40}),
	}
	cmd := contextual(&accountv1.Deposit{Amount: 1}, snapshot,
		page(4, &accountv1.MoneyDeposited{Amount: 2, Balance: 42}))
	state, next, err := businesslogic.PriorState(cmd.GetEvents())
	if err != nil {
		t.Fatal(err)
	}
	if want := (account.State{Open: true, Owner: "ada", Balance: 42}); state != want || next != 5 {
		t.Errorf("PriorState = %+v, %d; want %+v, 5", state, next, want)
	}
}

func TestReturnsASnapshotCoveringEveryEventWhenAMultipleOfSnapshotEveryIsCrossed(t *testing.T) {
	cmd := contextual(&accountv1.Deposit{Amount: 2}, nil,
		page(0, &accountv1.AccountOpened{Owner: "ada"}), page(1, &accountv1.MoneyDeposited{Amount: 1, Balance: 1}))
	book, err := businesslogic.HandleCommand(cmd, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if book.GetSnapshot().GetSequence() != 3 {
		t.Fatalf("snapshot = %v, want one at sequence 3", book.GetSnapshot())
	}
	state, err := account.UnpackState(book.GetSnapshot().GetState())
	if want := (account.State{Open: true, Owner: "ada", Balance: 3}); err != nil || state != want {
		t.Errorf("snapshot state = %+v, %v; want %+v", state, err, want)
	}
}

func TestAnswersARefusalWithItsStatus(t *testing.T) {
	server := &businesslogic.Server{SnapshotEvery: 10}
	_, err := server.Handle(context.Background(), contextual(&accountv1.Withdraw{Amount: 1}, nil,
		page(0, &accountv1.AccountOpened{Owner: "ada"})))
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition ||
		st.Message() != "insufficient funds: the balance is 0, the withdrawal is 1" {
		t.Errorf("Handle error = %v", err)
	}
	_, err = server.Handle(context.Background(), contextual(&accountv1.Deposit{Amount: -1}, nil,
		page(0, &accountv1.AccountOpened{Owner: "ada"})))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Handle error = %v, want INVALID_ARGUMENT", err)
	}
}
