// Package account is the bank account domain: Decide turns a command into events (or refuses it), Evolve
// folds an event into the state. Commands and events are the protobuf messages of
// proto/account/v1/account.proto; there is no gRPC here (internal/businesslogic puts the domain on the wire).
package account

import (
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"

	accountv1 "bank/gen/account/v1"
)

// State is what Decide needs to know of an account, and what a snapshot stores.
type State struct {
	Open    bool   `json:"open"`
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"` // in cents
}

// A Command is one of the command messages of account.v1 (OpenAccount, Deposit, Withdraw, TransferMoney,
// ReceiveTransfer); an Event one of its event messages.
type (
	Command = proto.Message
	Event   = proto.Message
)

// Kind says why a command is refused.
type Kind int

const (
	// Invalid: the command is malformed (gRPC INVALID_ARGUMENT).
	Invalid Kind = iota + 1
	// Rejected: the command breaks a business rule (gRPC FAILED_PRECONDITION).
	Rejected
)

// Error is a command the domain refuses.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalidf(format string, args ...any) error {
	return &Error{Kind: Invalid, Message: fmt.Sprintf(format, args...)}
}

func rejectedf(format string, args ...any) error {
	return &Error{Kind: Rejected, Message: fmt.Sprintf(format, args...)}
}

// Evolve returns the state after e. An event it does not know leaves the state as it is.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case *accountv1.AccountOpened:
		return State{Open: true, Owner: e.GetOwner()}
	case *accountv1.MoneyDeposited:
		s.Balance = e.GetBalance()
	case *accountv1.MoneyWithdrawn:
		s.Balance = e.GetBalance()
	case *accountv1.MoneyTransferredOut:
		s.Balance = e.GetBalance()
	case *accountv1.TransferReceived:
		s.Balance = e.GetBalance()
	}
	return s
}

// Fold returns the state after every event, in order, starting from s.
func Fold(s State, events ...Event) State {
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

var accountID = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Decide returns the events c causes in state s, or an *Error saying why it is refused.
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case *accountv1.OpenAccount:
		if strings.TrimSpace(c.GetOwner()) == "" {
			return nil, invalidf("owner must not be empty")
		}
		if s.Open {
			return nil, rejectedf("the account is already open (owner %s)", s.Owner)
		}
		return []Event{&accountv1.AccountOpened{Owner: c.GetOwner()}}, nil

	case *accountv1.Deposit:
		if err := check(s, c.GetAmount(), positive, open); err != nil {
			return nil, err
		}
		return []Event{&accountv1.MoneyDeposited{Amount: c.GetAmount(), Balance: s.Balance + c.GetAmount()}}, nil

	case *accountv1.Withdraw:
		if err := check(s, c.GetAmount(), positive, open, covered("withdrawal")); err != nil {
			return nil, err
		}
		return []Event{&accountv1.MoneyWithdrawn{Amount: c.GetAmount(), Balance: s.Balance - c.GetAmount()}}, nil

	case *accountv1.TransferMoney:
		if err := check(s, c.GetAmount(), positive); err != nil {
			return nil, err
		}
		if !accountID.MatchString(c.GetToAccount()) {
			return nil, invalidf("to_account must be an account id (a UUID), got %q", c.GetToAccount())
		}
		if err := check(s, c.GetAmount(), open, covered("transfer")); err != nil {
			return nil, err
		}
		return []Event{&accountv1.MoneyTransferredOut{
			ToAccount: c.GetToAccount(),
			Amount:    c.GetAmount(),
			Balance:   s.Balance - c.GetAmount(),
		}}, nil

	case *accountv1.ReceiveTransfer:
		if err := check(s, c.GetAmount(), positive, open); err != nil {
			return nil, err
		}
		return []Event{&accountv1.TransferReceived{
			FromAccount: c.GetFromAccount(),
			Amount:      c.GetAmount(),
			Balance:     s.Balance + c.GetAmount(),
		}}, nil

	default:
		return nil, invalidf("%s is not a command of the account domain", c.ProtoReflect().Descriptor().FullName())
	}
}

// A rule is one condition a money movement of amount must meet in state s.
type rule func(s State, amount int64) error

func check(s State, amount int64, rules ...rule) error {
	for _, r := range rules {
		if err := r(s, amount); err != nil {
			return err
		}
	}
	return nil
}

func positive(_ State, amount int64) error {
	if amount <= 0 {
		return invalidf("amount must be a positive number of cents, got %d", amount)
	}
	return nil
}

func open(s State, _ int64) error {
	if !s.Open {
		return rejectedf("the account is not open")
	}
	return nil
}

func covered(what string) rule {
	return func(s State, amount int64) error {
		if amount > s.Balance {
			return rejectedf("insufficient funds: the balance is %d, the %s is %d", s.Balance, what, amount)
		}
		return nil
	}
}
