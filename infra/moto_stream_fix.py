"""moto one request at a time (infra/moto_serial.py) plus a fix for moto's DynamoDB Streams
after a cancelled TransactWriteItems, for the load and fault runs (tools/loadtest).

The bug (moto 5.x, `DynamoDBBackend.transact_write_items`): a cancelled transaction restores
each table it touched from a deep copy, which replaces the table object — and with it the
table's stream shard. Open shard iterators (the dev server's outbox stream poller holds one)
keep pointing at the old shard object, so they (1) still see the records of the rolled-back
writes and (2) never see any record written afterwards. On the dev server over moto that means
a callback for an event that does not exist ("no event … in the outbox", retried for hours),
then no callback at all after the first cancelled transaction that touched the outbox table —
which a conditional payment update losing a race (two webhooks for one payment in one batch)
produces. Real DynamoDB writes nothing to a stream for a cancelled transaction. Reproduction:
`python infra/moto_stream_fix.py --repro` (prints what an open iterator reads, unpatched and
patched).

The fix keeps the live shard: after the rollback, the restored table gets the shard object the
iterators hold, with the records the cancelled transaction added removed.

usage: python infra/moto_stream_fix.py PORT [--keep-alive]   (as moto_serial.py)
       python infra/moto_stream_fix.py --repro
"""

import os
import sys


def apply() -> None:
    """Patches moto's transact_write_items (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend.transact_write_items, "_keeps_stream", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        live = {}
        for name, table in self.tables.items():
            shard = getattr(table, "stream_shard", None)
            if shard is not None:
                live[name] = (table, shard, len(shard.items))
        try:
            return original(self, transact_items)
        except Exception:
            for name, (table, shard, count) in live.items():
                restored = self.tables.get(name)
                if restored is not None and restored is not table:
                    del shard.items[count:]
                    shard.table = restored
                    restored.stream_shard = shard
            raise

    transact_write_items._keeps_stream = True
    DynamoDBBackend.transact_write_items = transact_write_items


def repro(patched: bool) -> list:
    """What an open iterator reads after a cancelled transaction and one more write."""
    import boto3
    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t", AWS_DEFAULT_REGION="us-east-1")
    with mock_aws():
        if patched:
            apply()
        d, s = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
        d.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST",
                       StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        arn = d.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard = s.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = s.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        d.put_item(TableName="t", Item={"pk": {"S": "a"}})
        it = s.get_records(ShardIterator=it)["NextShardIterator"]
        try:
            d.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "rolled-back"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}}])
        except d.exceptions.TransactionCanceledException:
            pass
        d.put_item(TableName="t", Item={"pk": {"S": "b"}})
        return [r["dynamodb"]["NewImage"]["pk"]["S"] for r in s.get_records(ShardIterator=it)["Records"]]


if __name__ == "__main__":
    if sys.argv[1:] == ["--repro"]:
        print("moto as shipped reads:", repro(False), "(expected ['b'])")
        print("with the fix reads:   ", repro(True))
        sys.exit(0 if repro(True) == ["b"] else 1)
    apply()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import moto_serial

    moto_serial.main()
