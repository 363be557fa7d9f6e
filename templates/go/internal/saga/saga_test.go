package saga_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	accountv1 "bank/gen/account/v1"
	"bank/gen/evented"
	"bank/internal/account"
	"bank/internal/saga"
)

func page(num uint32, e account.Event) *evented.EventPage {
	return &evented.EventPage{Sequence: &evented.EventPage_Num{Num: num}, Event: account.Pack(e)}
}

func TestIssuesReceiveTransferToTheReceivingAccountForEachTransferOutOnly(t *testing.T) {
	ada := []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	const bob = "02020202-0202-0202-0202-020202020202"
	book := &evented.EventBook{
		Cover: &evented.Cover{Domain: "account", Root: &evented.UUID{Value: ada}},
		Pages: []*evented.EventPage{
			page(3, &accountv1.MoneyDeposited{Amount: 5, Balance: 50}),
			page(4, &accountv1.MoneyTransferredOut{ToAccount: bob, Amount: 20, Balance: 30}),
		},
	}
	commands, err := saga.TransferCommands(book)
	if err != nil {
		t.Fatal(err)
	}
	if len(commands) != 1 || len(commands[0].GetPages()) != 1 {
		t.Fatalf("commands = %v, want one of one page", commands)
	}
	cover := commands[0].GetCover()
	if cover.GetDomain() != "account" || account.IDString(cover.GetRoot().GetValue()) != bob {
		t.Errorf("cover = %v, want account %s", cover, bob)
	}
	c, ok := account.UnpackCommand(commands[0].GetPages()[0].GetCommand())
	want := &accountv1.ReceiveTransfer{FromAccount: account.IDString(ada), Amount: 20}
	if !ok || !proto.Equal(c, want) {
		t.Errorf("command = %v, want %v", c, want)
	}
}
