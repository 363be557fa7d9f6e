package account_test

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	accountv1 "bank/gen/account/v1"
	"bank/internal/account"
)

const other = "6f1c2d3e-4b5a-4c6d-8e7f-901234567890"

var (
	opened = &accountv1.AccountOpened{Owner: "ada"}
	funded = []account.Event{opened, &accountv1.MoneyDeposited{Amount: 50, Balance: 50}}
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name  string
		given []account.Event
		when  account.Command
		then  []account.Event
	}{
		{"opens an account", nil, &accountv1.OpenAccount{Owner: "ada"},
			[]account.Event{&accountv1.AccountOpened{Owner: "ada"}}},
		{"deposits, recording the balance", []account.Event{opened}, &accountv1.Deposit{Amount: 100},
			[]account.Event{&accountv1.MoneyDeposited{Amount: 100, Balance: 100}}},
		{"withdraws, recording the balance", funded, &accountv1.Withdraw{Amount: 30},
			[]account.Event{&accountv1.MoneyWithdrawn{Amount: 30, Balance: 20}}},
		{"transfers out what the balance covers", funded, &accountv1.TransferMoney{ToAccount: other, Amount: 20},
			[]account.Event{&accountv1.MoneyTransferredOut{ToAccount: other, Amount: 20, Balance: 30}}},
		{"receives a transfer",
			[]account.Event{opened}, &accountv1.ReceiveTransfer{FromAccount: other, Amount: 20},
			[]account.Event{&accountv1.TransferReceived{FromAccount: other, Amount: 20, Balance: 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := account.Decide(account.Fold(account.State{}, tt.given...), tt.when)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if len(got) != len(tt.then) {
				t.Fatalf("Decide = %v, want %v", got, tt.then)
			}
			for i := range got {
				if !proto.Equal(got[i], tt.then[i]) {
					t.Errorf("event %d = %v, want %v", i, got[i], tt.then[i])
				}
			}
		})
	}
}

func TestDecideRefuses(t *testing.T) {
	tests := []struct {
		name    string
		given   []account.Event
		when    account.Command
		kind    account.Kind
		message string
	}{
		{"an account opened twice", []account.Event{opened}, &accountv1.OpenAccount{Owner: "bob"},
			account.Rejected, "the account is already open (owner ada)"},
		{"an empty owner", nil, &accountv1.OpenAccount{Owner: " "},
			account.Invalid, "owner must not be empty"},
		{"a withdrawal over the balance",
			[]account.Event{opened, &accountv1.MoneyDeposited{Amount: 10, Balance: 10}},
			&accountv1.Withdraw{Amount: 11},
			account.Rejected, "insufficient funds: the balance is 10, the withdrawal is 11"},
		{"money on an account that is not open", nil, &accountv1.Deposit{Amount: 5},
			account.Rejected, "the account is not open"},
		{"an amount that is not positive", []account.Event{opened}, &accountv1.Deposit{Amount: 0},
			account.Invalid, "amount must be a positive number of cents, got 0"},
		{"a transfer over the balance", funded, &accountv1.TransferMoney{ToAccount: other, Amount: 60},
			account.Rejected, "insufficient funds: the balance is 50, the transfer is 60"},
		{"a transfer to something that is not an account id",
			funded, &accountv1.TransferMoney{ToAccount: "bob", Amount: 5},
			account.Invalid, `to_account must be an account id (a UUID), got "bob"`},
		{"an event sent as a command", []account.Event{opened}, opened,
			account.Invalid, "account.v1.AccountOpened is not a command of the account domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := account.Decide(account.Fold(account.State{}, tt.given...), tt.when)
			var refused *account.Error
			if !errors.As(err, &refused) {
				t.Fatalf("Decide = %v, %v; want a refusal", events, err)
			}
			if refused.Kind != tt.kind || !strings.Contains(refused.Message, tt.message) {
				t.Errorf("refusal = %d %q, want %d %q", refused.Kind, refused.Message, tt.kind, tt.message)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	b, err := account.IDBytes(other)
	if err != nil || len(b) != 16 {
		t.Fatalf("IDBytes(%q) = %x, %v", other, b, err)
	}
	if got := account.IDString(b); got != other {
		t.Errorf("IDString = %q, want %q", got, other)
	}
	if _, err := account.IDBytes("bob"); err == nil {
		t.Error("IDBytes(\"bob\") succeeded")
	}
}
