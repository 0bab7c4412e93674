/**
 * CAT's TestConnection (test_check) for the statuses acceptance-test-config.yml declares:
 * succeed with the sample config, failed with integration_tests/invalid_config.json; plus
 * a failed check for a project slug the account does not have.
 */
import { describe, expect, it } from '@jest/globals';

import { useFakeAccount } from './support/fixture.js';
import { describeOnTargets, type ConnectorRun } from './support/targets.js';

function connectionStatuses(run: ConnectorRun): Array<{ status: string; message?: string }> {
  return run.messages.filter((m) => m.type === 'CONNECTION_STATUS').map((m) => m.connectionStatus);
}

describeOnTargets('TestConnection', (target) => {
  const account = useFakeAccount();

  it('test_check[status=succeed]: the sample config gives exactly one CONNECTION_STATUS SUCCEEDED', async () => {
    const run = await target.run('check', { config: account().config });
    expect(run.exitCode).toBe(0);
    expect(connectionStatuses(run)).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
  });

  it('test_check[status=failed]: invalid_config.json (a token CircleCI rejects) gives exactly one FAILED that names the token', async () => {
    const { invalidConfig } = account();
    const run = await target.run('check', { config: invalidConfig });
    expect(run.exitCode).toBe(0);
    const statuses = connectionStatuses(run);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.status).toBe('FAILED');
    expect(statuses[0]!.message).toMatch(/token/i);
    expect(run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR')).toEqual([]);
  });

  it('test_check[status=failed]: a project slug the token cannot see gives exactly one FAILED that names the slug', async () => {
    const { config } = account();
    const missing = 'gh/acme/no-such-project';
    const run = await target.run('check', { config: { ...config, project_slugs: [...config.project_slugs, missing] } });
    expect(run.exitCode).toBe(0);
    const statuses = connectionStatuses(run);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.status).toBe('FAILED');
    expect(statuses[0]!.message).toContain(missing);
  });

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      expect(target.runs.length).toBe(3);
    });
  });
});
