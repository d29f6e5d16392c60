#!/bin/sh
# Set up a Prefect server for JOSHUA: the process work pool `joshua`, its queues, every deployment
# of prefect.yaml and the automations of deploy/automations.yaml, on the server PREFECT_API_URL
# names. Run it from the repository root once per server (again after changing prefect.yaml):
#   PREFECT_API_URL=http://prefect-server:4200/api deploy/bootstrap.sh
# docker-compose.yml's `deploy` service runs it; so do the deployment tests.
set -eu
prefect work-pool create joshua --type process --overwrite
for queue in assessments collection; do
  prefect work-queue inspect "$queue" --pool joshua >/dev/null 2>&1 || prefect work-queue create "$queue" --pool joshua
done
prefect --no-prompt deploy --all
if ! prefect automation inspect joshua-crash-silent-flow-runs >/dev/null 2>&1; then
  prefect automation create --from-file deploy/automations.yaml
fi
