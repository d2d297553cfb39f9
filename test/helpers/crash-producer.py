#!/usr/bin/python3
"""
Crash-loop producer (librdkafka through confluent-kafka-python, acks=all).

Writes records numbered n = 0, 1, 2, ... in order, value = str(n), key = f"k{n % keys}", at a
steady rate, so that it is always producing while the broker is SIGKILLed and restarted under
it. Retries and timeouts are generous: it rides through restarts and reconnects by itself.

Output, one line each, flushed after every poll:
  ack <partition> <offset> <n>     delivery report, success (offset -1 if the broker gave none)
  fail <n> <error>                 delivery report, failure
  error <error>                    a client-level error callback (informational)
  done <produced> <acked> <failed> at the end, after everything in flight was settled

Stops producing when stdin reaches EOF, --stop-file appears, or --count records were produced,
then flushes (waits for every outstanding delivery report) and exits.

usage: crash-producer.py --bootstrap HOST:PORT --topic T [--idempotent 0|1] [--count N]
                         [--rate R] [--keys K] [--stop-file PATH]
"""
import argparse
import os
import sys
import threading
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--topic', required=True)
parser.add_argument('--idempotent', type=int, default=1)
parser.add_argument('--count', type=int, default=0, help='stop after N records (0: until stdin EOF)')
parser.add_argument('--rate', type=float, default=1000.0, help='records per second')
parser.add_argument('--keys', type=int, default=16)
parser.add_argument('--stop-file', default=None)
args = parser.parse_args()

idempotent = bool(args.idempotent)
config = {
    'bootstrap.servers': args.bootstrap,
    'client.id': 'crash-producer',
    'acks': 'all',
    'enable.idempotence': idempotent,
    # Without idempotence a retry may overtake a later batch unless only one request is in
    # flight: keep order within a partition (at-least-once, never reordered).
    'max.in.flight.requests.per.connection': 5 if idempotent else 1,
    'linger.ms': 2,
    'retries': 2147483647,
    'retry.backoff.ms': 50,
    'message.timeout.ms': 300000,
    'request.timeout.ms': 15000,
    'reconnect.backoff.ms': 20,
    'reconnect.backoff.max.ms': 250,
    'topic.metadata.refresh.interval.ms': 2000,
    'log_level': 3,
}

out = sys.stdout
stop = threading.Event()
produced = acked = failed = 0


def watch_stdin():
    try:
        while sys.stdin.buffer.read1(4096):
            pass
    except Exception:
        pass
    stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()


def on_delivery(err, msg):
    global acked, failed
    n = int(msg.value())
    if err is None:
        acked += 1
        out.write(f'ack {msg.partition()} {msg.offset()} {n}\n')
    else:
        failed += 1
        out.write(f'fail {n} {err.name()}:{err.str()}\n'.replace('\n', ' ').rstrip() + '\n')


def on_error(err):
    out.write(f'error {err.name()} {err.str()}'.replace('\n', ' ') + '\n')


config['error_cb'] = on_error
p = Producer(config)
start = time.monotonic()


def should_stop():
    if stop.is_set():
        return True
    if args.count and produced >= args.count:
        return True
    if args.stop_file and os.path.exists(args.stop_file):
        stop.set()
        return True
    return False


while not should_stop():
    due = int((time.monotonic() - start) * args.rate)
    if args.count:
        due = min(due, args.count)
    while produced < due:
        n = produced
        try:
            p.produce(args.topic, key=f'k{n % args.keys}'.encode(), value=str(n).encode(), on_delivery=on_delivery)
        except BufferError:
            break  # queue full (the broker is down for a while): poll and come back
        produced += 1
    p.poll(0.005)
    out.flush()

# Settle everything in flight: message.timeout.ms bounds how long this can take.
while len(p) > 0:
    p.flush(1.0)
    out.flush()
p.poll(0)
out.write(f'done {produced} {acked} {failed}\n')
out.flush()
