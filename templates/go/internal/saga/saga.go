// Package saga serves the transfers saga as evented.Saga: when money leaves an account
// (MoneyTransferredOut), it issues ReceiveTransfer to the receiving account. evented sends the command
// through the account domain's business logic, and makes sure a redelivered event does not credit the money
// twice.
package saga

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	accountv1 "bank/gen/account/v1"
	"bank/gen/evented"
	"bank/internal/account"
)

// TransferCommands returns a ReceiveTransfer for the receiving account of each MoneyTransferredOut in book.
func TransferCommands(book *evented.EventBook) ([]*evented.CommandBook, error) {
	from := account.IDString(book.GetCover().GetRoot().GetValue())
	domain := book.GetCover().GetDomain()
	if domain == "" {
		domain = "account"
	}
	var commands []*evented.CommandBook
	for _, page := range book.GetPages() {
		e, _ := account.UnpackEvent(page.GetEvent())
		out, ok := e.(*accountv1.MoneyTransferredOut)
		if !ok {
			continue
		}
		to, err := account.IDBytes(out.GetToAccount())
		if err != nil {
			return nil, err
		}
		receive := &accountv1.ReceiveTransfer{FromAccount: from, Amount: out.GetAmount()}
		commands = append(commands, &evented.CommandBook{
			Cover: &evented.Cover{Domain: domain, Root: &evented.UUID{Value: to}},
			Pages: []*evented.CommandPage{{Sequence: 0, Synchronous: false, Command: account.Pack(receive)}},
		})
	}
	return commands, nil
}

// Server is the transfers saga. evented calls HandleSync and sends the commands it returns; Handle has
// nothing to return them in.
type Server struct {
	evented.UnimplementedSagaServer
}

// Handle acknowledges the book.
func (Server) Handle(context.Context, *evented.EventBook) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// HandleSync answers with the commands the book calls for.
func (Server) HandleSync(
	_ context.Context, book *evented.EventBook,
) (*evented.SynchronousProcessingResponse, error) {
	commands, err := TransferCommands(book)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &evented.SynchronousProcessingResponse{Commands: commands}, nil
}
