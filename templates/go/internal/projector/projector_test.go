package projector_test

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/types/known/emptypb"

	accountv1 "bank/gen/account/v1"
	"bank/gen/evented"
	"bank/internal/account"
	"bank/internal/projector"
)

var ada = []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}

type numbered struct {
	num   uint32
	event account.Event
}

func book(root []byte, events ...numbered) *evented.EventBook {
	b := &evented.EventBook{Cover: &evented.Cover{Domain: "account", Root: &evented.UUID{Value: root}}}
	for _, e := range events {
		b.Pages = append(b.Pages, &evented.EventPage{
			Sequence: &evented.EventPage_Num{Num: e.num},
			Event:    account.Pack(e.event),
		})
	}
	return b
}

func open(t *testing.T, path string) *projector.ReadModel {
	t.Helper()
	m, err := projector.OpenReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadModelAppliesEachEventOnceAndSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	m := open(t, path)
	opened := book(ada,
		numbered{0, &accountv1.AccountOpened{Owner: "ada"}},
		numbered{1, &accountv1.MoneyDeposited{Amount: 5, Balance: 5}})
	if n := m.Apply(opened); n != 2 {
		t.Errorf("first Apply = %d, want 2", n)
	}
	if n := m.Apply(opened); n != 0 {
		t.Errorf("Apply of the same events again = %d, want 0", n)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}

	reloaded := open(t, path)
	want := projector.View{State: account.State{Open: true, Owner: "ada", Balance: 5}, Sequence: 1}
	if got, _ := reloaded.Get(account.IDString(ada)); got != want {
		t.Errorf("after a restart: %+v, want %+v", got, want)
	}
	later := book(ada,
		numbered{1, &accountv1.MoneyDeposited{Amount: 5, Balance: 5}},
		numbered{2, &accountv1.MoneyWithdrawn{Amount: 1, Balance: 4}})
	if n := reloaded.Apply(later); n != 1 {
		t.Errorf("Apply = %d, want 1", n)
	}
	if got, _ := reloaded.Get(account.IDString(ada)); got.Balance != 4 {
		t.Errorf("balance = %d, want 4", got.Balance)
	}
}

func TestProjectorSavesWhatItAppliesAndForgetsEverythingOnReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	server := projector.NewServer(open(t, path))
	ctx := context.Background()
	if _, err := server.Handle(ctx, book(ada, numbered{0, &accountv1.AccountOpened{Owner: "ada"}})); err != nil {
		t.Fatal(err)
	}
	if _, ok := open(t, path).Get(account.IDString(ada)); !ok {
		t.Error("the account is not in the saved read model")
	}
	if _, err := server.Reset(ctx, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := open(t, path).Get(account.IDString(ada)); ok {
		t.Error("the account is still in the read model after Reset")
	}
}
