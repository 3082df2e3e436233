import { DefaultFailureConverter } from '@temporalio/common';

// Error messages can quote emails or names; encoding them lets the codec encrypt them too.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
