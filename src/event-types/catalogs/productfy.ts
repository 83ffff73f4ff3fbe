import type { Catalog, Field } from './catalog.js';

// Every trigger type of Productfy's webhook documentation (the webhook catalog and envelope page), with the fields it
// lists and the example body it shows. Productfy's examples contain typos (missing commas, a
// stray quote); the examples here are those same values as valid JSON.

const achStatus: Field = {
  name: 'status',
  type: 'string',
  enum: ['VF', 'VS', 'SI', 'F', 'S'],
  description: 'VF (Validation Failed), VS (Validation Successful), SI (Submitted to Financial Institution), F (Failed) or S (Successful).',
  required: true,
};
const achRequestId: Field = {
  name: 'achTransferRequestId',
  type: 'string',
  description: 'Unique ID of the ACH transfer request.',
  required: true,
};

const ach = (name: string, title: string, description: string, status: string, requestId: string) => ({
  name,
  title,
  description,
  fields: [achStatus, achRequestId],
  example: { status, achTransferRequestId: requestId },
});

const linkedAccountFields: Field[] = [
  { name: 'ownerId', type: 'string', description: 'Unique ID of the account owner.', required: true },
  { name: 'accountId', type: 'string', description: "The ID of the person's financial account record.", required: true },
  { name: 'organizationId', type: 'string', description: 'The ID of the organization that the person belongs to.' },
  { name: 'yodleeAccountId', type: 'string', description: "External ID from Yodlee for the person's financial account." },
  {
    name: 'yodleeProviderAccountId',
    type: 'string',
    description: "The ID of the financial institution that the person's account belongs to.",
  },
];

export const productfy: Catalog = {
  name: 'productfy',
  description: "Productfy's webhook trigger types (card transactions, linked accounts, statements, KYC/KYB, ACH, disbursements).",
  types: [
    {
      name: 'PymtCard',
      title: 'Card Transaction',
      description:
        'A card transaction event occurred, of any type, including declined transactions. Use it to notify customers about card activity.',
      fields: [
        {
          name: 'type',
          type: 'string',
          description:
            'The type of card event: authorization, authorization.reversal, authorization.advice, authorization.clearing, pindebit.authorization, pindebit.authorization.clearing, refund (as sent by the processor, e.g. gpa.credit.authorization).',
          required: true,
        },
        {
          name: 'state',
          type: 'string',
          enum: ['PENDING', 'CLEARED', 'COMPLETION', 'DECLINED', 'ERROR', 'ALL'],
          description: 'The transaction state sent by the card processor.',
          required: true,
        },
        { name: 'amount', type: ['string', 'number'], description: 'The amount of the transaction; 2.2 represents $2.20.', required: true },
        {
          name: 'reason',
          type: 'string',
          nullable: true,
          description: 'The reason for a declined transaction (timeout, insufficient funds, fraud score, …).',
        },
        { name: 'merchant', type: 'object', nullable: true, description: 'The merchant that initiated the transaction.' },
        { name: 'accountId', type: 'string', description: "The ID of the person's financial account record." },
        { name: 'reasonCode', type: 'string', nullable: true, description: 'A code related to the reason field.' },
        {
          name: 'ledgerImpact',
          type: 'string',
          enum: ['positive', 'negative'],
          description: 'positive: the transaction credits the ledger; otherwise it debits it.',
        },
        { name: 'gpaOrderState', type: 'string', nullable: true, description: 'A field passed from the processor.' },
        { name: 'paymentCardId', type: 'string', description: 'The unique ID of this payment card.' },
        { name: 'transactionId', type: 'string', description: 'The unique ID of the transaction.', required: true },
        {
          name: 'pendingBalance',
          type: 'number',
          description: 'The pending balance of the virtual account when the transaction processed.',
        },
        {
          name: 'settledBalance',
          type: 'number',
          description: 'The settled balance of the virtual account when the transaction processed.',
        },
        {
          name: 'availableBalance',
          type: 'number',
          description: 'The available balance of the virtual account when the transaction processed.',
        },
        { name: 'additionalInformation', type: ['string', 'object'], nullable: true, description: 'A field passed from the processor.' },
        {
          name: 'previousTransactionId',
          type: 'string',
          nullable: true,
          description: 'For an authorization cleared in several parts, the ID of the previous clearing transaction.',
        },
      ],
      example: {
        type: 'gpa.credit.authorization',
        state: 'PENDING',
        amount: '2.2',
        reason: null,
        merchant: { name: 'STARBUCKS.' },
        accountId: 'Pfy_FinA-76EyO7sv963386l4',
        reasonCode: null,
        ledgerImpact: 'negative',
        gpaOrderState: 'PENDING',
        paymentCardId: 'Pfy_PymtCard-Q7nnQ0xtjAm89WL757Z6rQ',
        transactionId: 'Pfy_FinTx-QT5RWtntI3b8M6pwtl0r',
        pendingBalance: 1694,
        settledBalance: 4674,
        availableBalance: 1694,
        additionalInformation: null,
        previousTransactionId: null,
      },
    },
    {
      name: 'FinAccCreate',
      title: 'Account Linked',
      description: 'A third-party financial account was successfully linked to a user.',
      fields: [...linkedAccountFields, { name: 'yodleeRequestId', type: 'string', description: 'The ID of the Yodlee request.' }],
      example: {
        ownerId: 'Pfy_O-URiW619xZ',
        accountId: 'Pfy_FinA-1xLqzzQN9A7ZZzF0',
        organizationId: 'Pfy_O-U1lW6XXZy',
        yodleeAccountId: '1243509',
        yodleeProviderAccountId: '1234567',
        yodleeRequestId: 'iYyldR9JbKtOXomI0D4qxxILEMA=',
      },
    },
    {
      name: 'FinAccStmtCreate',
      title: 'Statement Ready',
      description: "A statement was generated on one of your customers' accounts. Use it to tell the customer the statement is available.",
      fields: [
        { name: 'accountId', type: 'string', description: 'Unique ID of the account.', required: true },
        { name: 'statementId', type: 'string', description: 'Unique ID of the statement.', required: true },
        { name: 'effectiveStartTs', type: 'string', format: 'date-time', description: 'The first date of the statement cycle.' },
        { name: 'effectiveEndTs', type: 'string', format: 'date-time', description: 'The last date of the statement cycle.' },
      ],
      example: {
        accountId: 'Pfy_FinA-hE5vKo8iIJ2OkBs5',
        statementId: 'Pfy_AccStmt-5KKUQn8PiB48y6KcwR63Twy',
        effectiveStartTs: '2022-01-01T00:00:00.000Z',
        effectiveEndTs: '2022-01-31T00:00:00.000Z',
      },
    },
    {
      name: 'FinAccTxDwnld',
      title: 'Account Transaction Download',
      description: 'A third-party linked account was refreshed with new transactions.',
      fields: linkedAccountFields,
      example: {
        ownerId: 'Pfy_O-x2kfcPeK2',
        accountId: 'Pfy_FinA-d3BS139XE6wxG2T4',
        organizationId: 'Pfy_O-Kr8cxP1K2',
        yodleeAccountId: '103204781',
        yodleeProviderAccountId: '10340290',
      },
    },
    {
      name: 'KycUpdate',
      title: 'KYC Status',
      description:
        "A user's Know Your Customer status was updated, for example when a new user is onboarded and passes or fails the rules.",
      fields: [
        { name: 'personId', type: 'string', description: 'Unique ID of the person.', required: true },
        {
          name: 'kycStatus',
          type: 'string',
          enum: ['P', 'F', '1', '0'],
          description: 'P passed automatically, F failed automatically, 1 passed manually by an admin, 0 failed manually by an admin.',
          required: true,
        },
        { name: 'kycDescription', type: 'string', description: 'Description of the event.' },
      ],
      example: { personId: 'Pfy_P-6wcqlYw6n', kycStatus: 'F', kycDescription: 'Automatically failed based on rule engine' },
    },
    {
      name: 'KybCipUpdate',
      title: 'KYB Status',
      description: "A business's Know Your Business status was updated (executeKyb was called on an organization).",
      fields: [
        { name: 'cipResult', type: 'string', description: 'The result of the identity validation on the business.', required: true },
        { name: 'organizationId', type: 'string', description: 'The organization that KYB was performed on.', required: true },
        { name: 'cipResultDescription', type: 'string', description: 'The description of the cipResult field.' },
      ],
      example: { cipResult: '1', organizationId: 'Pfy_O-tV54gPYVr', cipResultDescription: 'Admin passed the check' },
    },
    ach(
      'AchTrfVldtnFail',
      'ACH Transfer Validation Failed',
      'The ACH transfer request failed validation.',
      'VF',
      'Pfy_AchReq-SA4JMOLKpEtF90R6SGr7Cf10',
    ),
    ach(
      'AchTrfVldtnSccss',
      'ACH Transfer Passed Validation',
      'The ACH transfer request passed validation.',
      'VS',
      'Pfy_AchReq-XEtK7GMqZ7C6qIo8gJX1085a',
    ),
    ach(
      'AchTrfSubmit',
      'ACH Transfer Submitted To Financial Institution',
      'The ACH transfer request was submitted to the financial institution for processing.',
      'SI',
      'Pfy_AchReq-XEtK7GMqZ7C6qIo8gJX1085a',
    ),
    ach(
      'AchTrfFail',
      'ACH Transfer Failed',
      'The ACH transfer request failed for a reason other than validation (insufficient funds, account closed, payment stopped, …).',
      'F',
      'Pfy_AchReq-7KJhvlFBL48uYYk1yy636BGc',
    ),
    ach(
      'AchTrfSccss',
      'ACH Transfer Successful',
      'The ACH transfer request was marked successful.',
      'S',
      'Pfy_AchReq-03BBLH719d2UOVK519z7BPnF',
    ),
    {
      name: 'DrctDepFinTxCreate',
      title: 'ACH Received',
      description: 'An ACH transaction initiated at a third-party bank arrived at a virtual account (for example a direct deposit).',
      fields: [
        { name: 'amount', type: ['string', 'number'], description: 'The amount of the ACH transaction received.', required: true },
        { name: 'senderName', type: 'string', description: 'The name of the originator of the ACH transaction.' },
        { name: 'description', type: 'string', description: 'The description of the transaction, entered by the originating bank.' },
        {
          name: 'ledgerEntryType',
          type: 'string',
          enum: ['Credit', 'Debit'],
          description: 'Credit increases the virtual account balance; Debit decreases it.',
        },
        {
          name: 'financialTransactionId',
          type: 'string',
          description: 'The ID of the virtual account transaction created for this ACH.',
          required: true,
        },
      ],
      example: {
        amount: '0.045',
        senderName: 'VENMO',
        description: 'VERIFYBANK',
        ledgerEntryType: 'Credit',
        financialTransactionId: 'Pfy_FinTx-teStTrAN33',
      },
    },
    {
      name: 'IncmpltPymtCardApplcSubmit',
      title: 'Incomplete Credit Card Application',
      description:
        'A credit card application was started 7 days ago and not finished: notify the customer that it was denied as incomplete.',
      fields: [
        { name: 'personId', type: 'string', description: 'The person with the incomplete application.', required: true },
        { name: 'personName', type: 'string', description: 'The name of that person.' },
        { name: 'applicationStart', type: 'string', description: 'When the application was initiated.' },
      ],
      example: { personId: 'Pfy_P-f7KSAfZ98', personName: 'Micky Mouse', applicationStart: '2022-10-25T23:28:28' },
    },
    {
      name: 'AccBalRfrshCmplt',
      title: 'Yodlee Balance Refresh',
      description: 'A third-party Yodlee-linked account was refreshed with an updated balance.',
      fields: [
        {
          name: 'refreshStatus',
          type: 'string',
          enum: ['SUCCESS', 'IN_PROGRESS', 'FAILED'],
          description: 'Outcome of the refresh.',
          required: true,
        },
        { name: 'financialAccountId', type: 'string', description: 'Unique ID of the account.', required: true },
        { name: 'currentBalanceAmount', type: 'number', description: 'The ledger balance at the beginning of the business day.' },
        { name: 'balanceRefreshTimestamp', type: 'string', format: 'date-time', description: 'When the balance refresh occurred.' },
        { name: 'currentSettledBalanceAmount', type: 'number', description: 'The settled balance.' },
        {
          name: 'currentAvailableBalanceAmount',
          type: 'number',
          description: 'The balance available for spending (may include overdraft).',
        },
        { name: 'failedReason', type: 'string', description: 'Why the refresh failed.' },
      ],
      example: {
        refreshStatus: 'SUCCESS',
        financialAccountId: 'Pfy_FinA-Uwpqg3IAOfodF8GW',
        currentBalanceAmount: 1600.0,
        balanceRefreshTimestamp: '2023-03-03T15:14:06Z',
        currentSettledBalanceAmount: 1600.0,
        currentAvailableBalanceAmount: 1500.0,
      },
    },
    {
      name: 'CnsmrDsbrs',
      title: 'Disbursement Status',
      description: 'A disbursement notification was sent or a disbursement request was cancelled.',
      fields: [
        { name: 'token', type: 'string', description: 'Security token to put in the URL the customer follows to reach the disbursement.' },
        { name: 'eventType', type: 'string', enum: ['CREATED', 'CANCELLED'], description: 'What happened.', required: true },
        { name: 'successful', type: 'boolean', description: 'False when data was missing or an error occurred.' },
        { name: 'personEmail', type: 'string', description: 'Email address entered in the disbursement request.' },
        { name: 'fundingAmount', type: 'number', description: 'Funding amount entered in the disbursement request.' },
        { name: 'disbursementId', type: 'string', description: 'The disbursement.', required: true },
        { name: 'personLastName', type: 'string', description: 'Last name of the customer.' },
        { name: 'personFirstName', type: 'string', description: 'First name of the customer.' },
        { name: 'tokenExpirationTs', type: 'string', description: 'When the token expires (default 7 days).' },
        { name: 'tenantDeploymentEnvironmentId', type: 'string', description: 'Client ID.' },
      ],
      example: {
        token: 'Pfy_Tk-DisReq:9MYnlyGg24n8xnIlawLCRlDUpVVOe5z6bBD',
        eventType: 'CREATED',
        successful: true,
        personEmail: 'test@gmail.com',
        fundingAmount: 122,
        disbursementId: 'Pfy_CnsmrDsbrsReq-Mw80eerta78JW0h1MlqB8Q',
        personLastName: 'Mouse',
        personFirstName: 'Mickey',
        tokenExpirationTs: '2023-04-12T23:59:59.999999-07:00',
        tenantDeploymentEnvironmentId: 'Pfy_TnntDeployEnv-o2Q5420WnXov',
      },
    },
  ],
};
