import tempfile
import unittest
from pathlib import Path

from google.protobuf import empty_pb2

from account.v1 import account_pb2 as pb
from bank.codec import pack, unpack_command, uuid_from_bytes
from bank.domain import Account
from bank.projector import AccountsProjector
from bank.read_model import AccountsReadModel, AccountView
from bank.saga import transfer_commands
from evented import evented_pb2

ADA = bytes([1] * 16)
BOB = "02020202-0202-0202-0202-020202020202"


def book(root, *events):
    return evented_pb2.EventBook(
        cover=evented_pb2.Cover(domain="account", root=evented_pb2.UUID(value=root)),
        pages=[evented_pb2.EventPage(num=num, Event=pack(event)) for num, event in events],
    )


class AccountsReadModelTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.path = Path(folder.name) / "accounts.json"

    def test_applies_each_event_once_even_when_delivered_again_and_survives_a_restart(self):
        model = AccountsReadModel(self.path)
        opened = book(
            ADA, (0, pb.AccountOpened(owner="ada")), (1, pb.MoneyDeposited(amount=5, balance=5))
        )
        self.assertEqual(model.apply(opened), 2)
        self.assertEqual(model.apply(opened), 0)
        model.save()

        reloaded = AccountsReadModel(self.path)
        self.assertEqual(reloaded.get(uuid_from_bytes(ADA)), AccountView(Account(True, "ada", 5), 1))
        later = book(
            ADA,
            (1, pb.MoneyDeposited(amount=5, balance=5)),
            (2, pb.MoneyWithdrawn(amount=1, balance=4)),
        )
        self.assertEqual(reloaded.apply(later), 1)
        self.assertEqual(reloaded.get(uuid_from_bytes(ADA)).account.balance, 4)

    def test_the_projector_saves_what_it_applies_and_forgets_everything_on_reset(self):
        projector = AccountsProjector(AccountsReadModel(self.path))
        projector.Handle(book(ADA, (0, pb.AccountOpened(owner="ada"))), None)
        self.assertEqual(
            AccountsReadModel(self.path).get(uuid_from_bytes(ADA)), AccountView(Account(True, "ada", 0), 0)
        )
        projector.Reset(empty_pb2.Empty(), None)
        self.assertIsNone(AccountsReadModel(self.path).get(uuid_from_bytes(ADA)))


class TransfersSagaTest(unittest.TestCase):
    def test_issues_receive_transfer_to_the_receiving_account_for_each_transfer_out_only(self):
        commands = transfer_commands(
            book(
                ADA,
                (3, pb.MoneyDeposited(amount=5, balance=50)),
                (4, pb.MoneyTransferredOut(to_account=BOB, amount=20, balance=30)),
            )
        )
        self.assertEqual(len(commands), 1)
        self.assertEqual(commands[0].cover.domain, "account")
        self.assertEqual(uuid_from_bytes(commands[0].cover.root.value), BOB)
        self.assertEqual(
            unpack_command(commands[0].pages[0].command),
            pb.ReceiveTransfer(from_account=uuid_from_bytes(ADA), amount=20),
        )


if __name__ == "__main__":
    unittest.main()
