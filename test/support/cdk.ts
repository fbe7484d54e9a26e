/** CDK apps for construct tests: the project's feature flags, and cdk-nag's findings and acknowledgements. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import type { AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * The context of cdk.json: the feature flags `cdk synth` runs with (the NLB's default security group,
 * CloudFormation validation at synth...), which a bare `new App()` in a test would not have.
 */
export function projectContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** An app with the project's feature flags; `bundle: false` skips esbuild for tests that read only the template. */
export function projectApp(options: { outdir?: string; bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  const props: AppProps = {
    ...(options.outdir !== undefined && { outdir: options.outdir }),
    context: { ...projectContext(), ...(options.bundle === false && { 'aws:cdk:bundling-stacks': [] }), ...options.context },
  };
  return new App(props);
}

/**
 * Synthesizes `app` (whose outdir must be `outdir`) with the AwsSolutions checks and returns each
 * finding as `rule constructPath`. Findings fail the synth; the report is read either way. Tests that
 * expect none should also check `acknowledgements`, which proves the checks had something to look at.
 */
export function awsSolutionsFindings(app: App, outdir: string): string[] {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch {
    // the findings are in the report, read below
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
  };
  // aws-cdk-lib writes a plugin's report only when it found something: no AwsSolutions report, no finding.
  return report.pluginReports
    .flatMap((plugin) => plugin.violations)
    .flatMap((violation) => violation.violatingConstructs.map((construct) => `${violation.ruleName} ${construct.constructPath}`));
}

/**
 * The rules acknowledged on `scope` and below. aws-cdk-lib records an id without a plugin prefix as
 * `Annotation::id`; cdk-nag strips that prefix when it matches, and so does this.
 */
export function acknowledgements(scope: IConstruct): { id: string; path: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          path: construct.node.path,
          reason,
        })),
      ),
  );
}
