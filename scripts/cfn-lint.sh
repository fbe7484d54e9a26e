#!/usr/bin/env bash
# Lints every template that `cdk synth` wrote to cdk.out with cfn-lint. Any finding fails, except the
# rules below, which are known false positives of CDK-generated templates.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "cfn-lint is not installed (pip install cfn-lint)" >&2
  exit 1
fi
shopt -s nullglob
templates=(cdk.out/*.template.json)
if [ ${#templates[@]} -eq 0 ]; then
  echo "no templates in cdk.out: run 'npx cdk synth' first" >&2
  exit 1
fi

# W3005: CDK adds DependsOn on a Lambda's role and its default policy even where a GetAtt already
#        orders them; the policy must exist before the function, so CDK keeps the DependsOn on purpose.
ignored=W3005

cfn-lint --ignore-checks "$ignored" -- "${templates[@]}"
echo "cfn-lint: ${#templates[@]} template(s), no findings"
