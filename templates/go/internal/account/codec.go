package account

import (
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	accountv1 "bank/gen/account/v1"
)

// Pack puts m in an Any (type URL type.googleapis.com/account.v1.<Name>).
func Pack(m proto.Message) *anypb.Any {
	packed, err := anypb.New(m)
	if err != nil {
		panic(fmt.Sprintf("packing %T: %v", m, err)) // only a nil or broken message gets here
	}
	return packed
}

// UnpackCommand returns the command in a, and false for anything that is not a command of this domain.
func UnpackCommand(a *anypb.Any) (Command, bool) {
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, false
	}
	switch m.(type) {
	case *accountv1.OpenAccount, *accountv1.Deposit, *accountv1.Withdraw,
		*accountv1.TransferMoney, *accountv1.ReceiveTransfer:
		return m, true
	}
	return nil, false
}

// UnpackEvent returns the event in a, and false for anything that is not an event of this domain.
func UnpackEvent(a *anypb.Any) (Event, bool) {
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, false
	}
	switch m.(type) {
	case *accountv1.AccountOpened, *accountv1.MoneyDeposited, *accountv1.MoneyWithdrawn,
		*accountv1.MoneyTransferredOut, *accountv1.TransferReceived:
		return m, true
	}
	return nil, false
}

// PackState is s as a snapshot's state (account.v1.AccountState).
func PackState(s State) *anypb.Any {
	return Pack(&accountv1.AccountState{Open: s.Open, Owner: s.Owner, Balance: s.Balance})
}

// UnpackState reads a snapshot's state.
func UnpackState(a *anypb.Any) (State, error) {
	var m accountv1.AccountState
	if err := a.UnmarshalTo(&m); err != nil {
		return State{}, fmt.Errorf("snapshot state: %w", err)
	}
	return State{Open: m.GetOpen(), Owner: m.GetOwner(), Balance: m.GetBalance()}, nil
}

// IDBytes turns an account id (a UUID as text, as in commands and events) into evented's 16 bytes.
func IDBytes(id string) ([]byte, error) {
	if !accountID.MatchString(id) {
		return nil, fmt.Errorf("%q is not an account id (a UUID)", id)
	}
	return hex.DecodeString(strings.ReplaceAll(id, "-", ""))
}

// IDString turns evented's 16 bytes into an account id.
func IDString(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
