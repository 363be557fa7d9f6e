import unittest

from account.v1 import account_pb2 as pb
from bank.business_logic import handle_command, prior_state
from bank.codec import pack, pack_state, unpack_event, unpack_state
from bank.domain import Account
from evented import evented_pb2

COVER = evented_pb2.Cover(domain="account", root=evented_pb2.UUID(value=bytes([7] * 16)))


def page(num, event):
    return evented_pb2.EventPage(num=num, Event=pack(event))


def contextual(command, *prior, snapshot=None):
    events = evented_pb2.EventBook(cover=COVER, pages=prior)
    if snapshot is not None:
        events.snapshot.CopyFrom(snapshot)
    return evented_pb2.ContextualCommand(
        events=events,
        command=evented_pb2.CommandBook(
            cover=COVER, pages=[evented_pb2.CommandPage(synchronous=True, command=pack(command))]
        ),
    )


class BusinessLogicTest(unittest.TestCase):
    def test_numbers_new_events_after_the_prior_ones_and_keeps_the_synchronous_flag(self):
        prior = page(0, pb.AccountOpened(owner="ada"))
        book = handle_command(contextual(pb.Deposit(amount=5), prior), snapshot_every=0)
        self.assertEqual(
            [(p.num, p.synchronous, unpack_event(p.Event)) for p in book.pages],
            [(1, True, pb.MoneyDeposited(amount=5, balance=5))],
        )
        self.assertEqual(book.cover, COVER)
        self.assertFalse(book.HasField("snapshot"))

    def test_folds_a_snapshot_and_the_events_after_it(self):
        snapshot = evented_pb2.Snapshot(
            sequence=4, state=pack_state(Account(open=True, owner="ada", balance=40))
        )
        context = contextual(
            pb.Deposit(amount=1), page(4, pb.MoneyDeposited(amount=2, balance=42)), snapshot=snapshot
        )
        self.assertEqual(prior_state(context.events), (Account(True, "ada", 42), 5))

    def test_returns_a_snapshot_covering_every_event_when_a_multiple_of_snapshot_every_is_crossed(self):
        prior = [page(0, pb.AccountOpened(owner="ada")), page(1, pb.MoneyDeposited(amount=1, balance=1))]
        book = handle_command(contextual(pb.Deposit(amount=2), *prior), snapshot_every=3)
        self.assertEqual(book.snapshot.sequence, 3)
        self.assertEqual(unpack_state(book.snapshot.state), Account(True, "ada", 3))


if __name__ == "__main__":
    unittest.main()
