#!/usr/bin/python3
"""
Crash-loop group consumer (librdkafka through confluent-kafka-python).

Subscribes to a topic in a consumer group with auto-commit off; for every small batch it
prints what it got, flushes, then commits the batch's next offsets synchronously. Broker
restarts under it are ridden through: a failed commit is reported and retried by the next
batch's commit, rebalances re-read the committed offsets.

Output, one line each (every batch's 'got' lines are flushed before its commit is sent, so a
commit never covers a record the log has not shown):
  assign <p,p,...> / revoke <p,p,...>  rebalance callbacks
  got <partition> <offset> <n>         a record (n = its value)
  commit <partition> <offset>          a commit the broker acknowledged (next offset to read)
  commitfail <error>                   a commit that failed (the broker was down)
  error <error>                        a consumer error event
  done <records>                       after a clean close

Stops when stdin reaches EOF or on SIGTERM/SIGINT, then closes the consumer (leaves the group).

usage: crash-consumer.py --bootstrap HOST:PORT --topic T --group G [--batch N] [--debug CONTEXTS]
"""
import argparse
import signal
import sys
import threading

from confluent_kafka import Consumer, KafkaException, TopicPartition

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--topic', required=True)
parser.add_argument('--group', required=True)
parser.add_argument('--batch', type=int, default=50)
parser.add_argument('--debug', default='', help="librdkafka debug contexts (logged to stderr), e.g. 'fetch,cgrp'")
args = parser.parse_args()

out = sys.stdout
stop = threading.Event()


def watch_stdin():
    try:
        while sys.stdin.buffer.read1(4096):
            pass
    except Exception:
        pass
    stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())


def on_error(err):
    out.write(f'error {err.name()} {err.str()}'.replace('\n', ' ') + '\n')


c = Consumer({
    'bootstrap.servers': args.bootstrap,
    'group.id': args.group,
    'client.id': 'crash-consumer',
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 1000,
    'reconnect.backoff.ms': 20,
    'reconnect.backoff.max.ms': 250,
    'topic.metadata.refresh.interval.ms': 2000,
    'fetch.wait.max.ms': 100,
    'error_cb': on_error,
    'log_level': 7 if args.debug else 3,
    **({'debug': args.debug} if args.debug else {}),
})


def on_assign(consumer, partitions):
    out.write('assign ' + ','.join(str(tp.partition) for tp in partitions) + '\n')


def on_revoke(consumer, partitions):
    out.write('revoke ' + ','.join(str(tp.partition) for tp in partitions) + '\n')


c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
records = 0
while not stop.is_set():
    msgs = c.consume(num_messages=args.batch, timeout=0.2)
    nexts = {}
    for m in msgs:
        if m.error():
            out.write(f'error {m.error().name()} {m.error().str()}'.replace('\n', ' ') + '\n')
            continue
        records += 1
        out.write(f'got {m.partition()} {m.offset()} {int(m.value())}\n')
        nexts[m.partition()] = m.offset() + 1
    out.flush()
    if not nexts:
        continue
    try:
        committed = c.commit(offsets=[TopicPartition(args.topic, p, o) for p, o in sorted(nexts.items())], asynchronous=False)
        for tp in committed:
            if tp.error is None:
                out.write(f'commit {tp.partition} {tp.offset}\n')
            else:
                out.write(f'commitfail {tp.partition} {tp.error}\n'.replace('\n', ' ').rstrip() + '\n')
    except KafkaException as e:
        out.write(f'commitfail {e}'.replace('\n', ' ') + '\n')
    out.flush()

c.close()
out.write(f'done {records}\n')
out.flush()
