# Move partition 0 of "events" onto brokers 2 and 3 (2 to lead it), wait until it is done,
# then give every partition back to its preferred leader.
set -e
cat > reassign.json <<'JSON'
{"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[2,3]}]}
JSON
npx sluice reassign --execute --reassignment-json-file reassign.json > rollback.txt
until npx sluice reassign --verify --reassignment-json-file reassign.json; do sleep 1; done
npx sluice leader-election --election-type preferred --all-topic-partitions
