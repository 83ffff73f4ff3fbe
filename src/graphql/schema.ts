// The GraphQL schemas, SDL first. Names marked in the design document (viewer, tenants, customers,
// createPerson, …) are a contract; the rest follows the same style: lists are connections
// (`nodes`, `pageInfo`), `tenant` arguments take an id or uid and may be left out by a session bound
// to one tenant, and enums are upper case where REST uses lower case.

/** POST /graphql/api/public: logging in (a person, or an embedded portal with a client token), nothing else. */
export const publicTypeDefs = /* GraphQL */ `
  enum Environment {
    SANDBOX
    PRODUCTION
  }

  type Query {
    "Always true: the public endpoint answers. Everything else needs a session (logIn)."
    ok: Boolean!
  }

  input LogInInput {
    "The user's email."
    username: String!
    password: String!
    "Six digits from the authenticator; each code works once."
    totpCode: String
    "Instead of totpCode when the authenticator is lost; each works once."
    recoveryCode: String
    "Default SANDBOX."
    environment: Environment
  }

  type Session {
    "Send it as extensions.sessionKey to /graphql/api/authenticated. Shown once."
    sessionKey: String!
    "Absolute: refresh (refreshSession) before it, or log in again."
    expiresAt: String!
    environment: Environment!
  }

  type Login {
    id: ID!
    username: String!
    sessions: [Session!]!
  }

  "First-login enrolment: the user has no authenticator yet. No session was started: put the secret in an authenticator app (scan qrSvgDataUrl, or type totpSecret), then send its first code with the ticket to completeEnrolment."
  type Enrolment {
    "Works once, for this user, until expiresAt (10 minutes). A new logIn replaces it."
    ticket: String!
    "The new TOTP secret, base32, for typing into an authenticator by hand."
    totpSecret: String!
    otpauthUri: String!
    "An SVG QR code of otpauthUri, as a data: URL for an <img>."
    qrSvgDataUrl: String!
    expiresAt: String!
  }

  type LogInPayload {
    "The session. Null when the answer is enrolment instead."
    login: Login
    "Set (and login null) when the user must first enrol an authenticator: see completeEnrolment."
    enrolment: Enrolment
  }

  input CompleteEnrolmentInput {
    "The ticket of logIn's enrolment."
    ticket: String!
    "The six digits the new authenticator shows."
    totpCode: String!
    "Default SANDBOX."
    environment: Environment
  }

  type CompleteEnrolmentPayload {
    login: Login!
    "Ten single-use codes for when the authenticator is lost. Shown once: keep them safe."
    recoveryCodes: [String!]!
  }

  input ExchangeClientTokenInput {
    "A public key (pk_…) of the token's environment; a browser's Origin must be one of its allowed origins."
    publicKey: String!
    "The ct_… token minted with POST /v1/tenants/:tenant/client-tokens; it works once."
    clientToken: String!
  }

  type Mutation {
    "Email, password and a second factor; answers the session key at login.sessions[0].sessionKey. A user with no authenticator yet gets enrolment instead (the code is not needed then)."
    logIn(input: LogInInput!): LogInPayload!
    "The ticket of logIn's enrolment and the first code of the new authenticator: the second factor is set, and the answer is a session and ten recovery codes."
    completeEnrolment(input: CompleteEnrolmentInput!): CompleteEnrolmentPayload!
    "A client token and a public key for a session bound to the token's tenant; the same answer as logIn."
    exchangeClientToken(input: ExchangeClientTokenInput!): LogInPayload!
  }
`;

/** POST /graphql/api/authenticated: everything a session may do. */
export const authenticatedTypeDefs = /* GraphQL */ `
  scalar JSON

  enum Environment {
    SANDBOX
    PRODUCTION
  }
  enum Role {
    OPERATOR
    TENANT
  }
  enum CustomerKind {
    PERSON
    ORGANIZATION
  }
  enum EndpointFormat {
    STANDARD
    PRODUCTFY
    ORIGINAL
    "CloudEvents 1.0, structured mode (application/cloudevents+json)."
    CLOUDEVENTS
  }
  "N: no endpoint subscribed; I: in progress; S: delivered; F: failed."
  enum EventStatus {
    N
    I
    S
    F
  }
  enum DeliveryStatus {
    I
    S
    F
  }
  enum ReportBucket {
    HOUR
    DAY
  }

  type PageInfo {
    hasNextPage: Boolean!
    "Pass as after to get the next page."
    endCursor: String
  }

  type TenantRef {
    id: ID!
    uid: String!
  }

  type Viewer {
    id: ID!
    username: String!
    role: Role!
    environment: Environment!
    "The one tenant this session reaches; null for an operator (every tenant)."
    tenant: TenantRef
    sessionExpiresAt: String!
  }

  type Tenant {
    id: ID!
    uid: String!
    name: String!
    createdAt: String!
  }
  type TenantConnection {
    nodes: [Tenant!]!
    pageInfo: PageInfo!
  }

  type Address {
    placeId: String
    streetNumber: String
    streetName: String
    streetSuffix: String
    unitNumber: String
    unitType: String
    city: String
    postalCode: String
    countryCode: String
    usTerritory: String
  }

  "Either placeId alone, or the full address (streetNumber, streetName, streetSuffix, city, postalCode, countryCode; usTerritory in the US; unitNumber with unitType)."
  input AddressInput {
    placeId: String
    streetNumber: String
    streetName: String
    streetSuffix: String
    unitNumber: String
    unitType: String
    city: String
    postalCode: String
    countryCode: String
    usTerritory: String
  }

  type Customer {
    id: ID!
    key: String!
    kind: CustomerKind!
    name: String!
    email: String
    address: Address
    customData: JSON!
    createdAt: String!
    updatedAt: String!
    "Billing records made from received webhooks (Chargify, Stripe), newest first."
    subscriptions(first: Int, after: String): SubscriptionConnection!
    transactions(first: Int, after: String): MoneyConnection!
    refunds(first: Int, after: String): MoneyConnection!
  }

  type Plan {
    id: ID!
    key: String!
    name: String!
  }
  type Subscription {
    id: ID!
    provider: String!
    providerId: String!
    productId: String
    productName: String
    plan: Plan
    state: String!
    "Minor units (cents)."
    amount: Int
    currency: String
    createdAt: String!
    updatedAt: String!
  }
  type SubscriptionConnection {
    nodes: [Subscription!]!
    pageInfo: PageInfo!
  }
  "A transaction or a refund: an amount in minor units (cents) under a customer."
  type Money {
    id: ID!
    provider: String!
    providerId: String!
    amount: Int!
    currency: String!
    memo: String
    occurredAt: String!
  }
  type MoneyConnection {
    nodes: [Money!]!
    pageInfo: PageInfo!
  }

  type Source {
    id: ID!
    "chargify, stripe, github, shopify, standard, token or basic."
    provider: String!
    name: String!
    "Where the provider posts."
    url: String!
    enabled: Boolean!
    createdAt: String!
  }
  "RECEIVED, PROCESSED, UNMATCHED (held until its customer exists), REJECTED or FAILED."
  type InboundMessage {
    id: ID!
    sourceId: ID!
    status: String!
    reason: String
    waitingFor: String
    duplicates: Int!
    eventType: String
    eventId: ID
    receivedAt: String!
    processedAt: String
  }
  type InboundConnection {
    nodes: [InboundMessage!]!
    pageInfo: PageInfo!
  }

  type Recovery {
    id: ID!
    endpointId: ID!
    since: String!
    until: String!
    "RUNNING or DONE."
    status: String!
    "Failed deliveries in the window when it started."
    total: Int!
    "Resent so far."
    done: Int!
    "Of total: failed for good when it started (sent again with a fresh retry schedule)."
    failed: Int!
    "Of total: waiting for a later retry when it started (made due now, same retry schedule)."
    waiting: Int!
    createdAt: String!
    "When it last moved on (or started)."
    updatedAt: String!
  }
  type CustomerConnection {
    nodes: [Customer!]!
    pageInfo: PageInfo!
  }

  input PersonInput {
    "Unique in the tenant; billing webhooks find the customer by it."
    key: String!
    name: String
    email: String
    address: AddressInput
    customData: JSON
  }
  input OrganizationInput {
    key: String!
    name: String
    email: String
    address: AddressInput
    customData: JSON
  }

  type EventType {
    name: String!
    description: String!
    schema: JSON
    example: JSON
    "The catalog it was imported from (productfy, billing), herald for Herald's own operational events (endpoint.disabled, …), null for a type made by hand."
    catalog: String
  }

  "CLOSED: deliveries flow. OPEN: failing; deliveries wait until circuitOpenUntil. HALF_OPEN: the wait is over; the next delivery is a probe, sent alone."
  enum CircuitState {
    CLOSED
    OPEN
    HALF_OPEN
  }
  type EndpointHealth {
    circuit: CircuitState!
    "Failed attempts in a row (0 after a success)."
    consecutiveFailures: Int!
    "When the current run of failures began; null while healthy."
    failingSince: String
    "While OPEN: when the next probe may go."
    circuitOpenUntil: String
  }

  type Endpoint {
    id: ID!
    url: String!
    description: String!
    "Subscribed event types; empty means all."
    eventTypes: [String!]!
    enabled: Boolean!
    format: EndpointFormat!
    createdAt: String!
    updatedAt: String!
    "Why it is disabled (410 Gone, failing for too long, disabled by a person); null while enabled."
    disabledReason: String
    disabledAt: String
    health: EndpointHealth!
  }
  type CreatedEndpoint {
    endpoint: Endpoint!
    "The signing secret (whsec_…): shown here, at creation."
    secret: String!
  }
  input CreateEndpointInput {
    url: String!
    description: String
    eventTypes: [String!]
    format: EndpointFormat
    enabled: Boolean
  }
  input UpdateEndpointInput {
    url: String
    description: String
    eventTypes: [String!]
    format: EndpointFormat
    enabled: Boolean
  }

  type TestEvent {
    eventId: ID!
  }

  type Attempt {
    id: ID!
    attempt: Int!
    startedAt: String!
    statusCode: Int
    durationMs: Int!
    error: String
    "The start of what the endpoint answered (Herald keeps a bounded prefix); null when it answered nothing."
    responseBody: String
  }
  type Delivery {
    id: ID!
    endpointId: ID!
    status: DeliveryStatus!
    attemptCount: Int!
    lastStatusCode: Int
    attempts: [Attempt!]!
  }
  type Event {
    id: ID!
    type: String!
    status: EventStatus!
    payload: JSON
    createdAt: String!
    occurredAt: String!
    deliveries: [Delivery!]!
  }
  type EventConnection {
    nodes: [Event!]!
    pageInfo: PageInfo!
  }
  type ResentDelivery {
    id: ID!
    status: DeliveryStatus!
  }

  type ReportBucketRow {
    start: String!
    accepted: Int!
    delivered: Int!
    failed: Int!
    p50Ms: Int
    p99Ms: Int
  }
  type ReportTotals {
    accepted: Int!
    delivered: Int!
    failed: Int!
    p50Ms: Int
    p99Ms: Int
  }
  "Money recorded from billing webhooks on one UTC day in one currency; amounts in minor units (cents)."
  type BillingTotal {
    day: String!
    currency: String!
    transactions: Int!
    amount: Int!
    refunds: Int!
    refunded: Int!
  }
  "One event type over the report's window: the same figures as ReportTotals."
  type ReportEventType {
    eventType: String!
    accepted: Int!
    delivered: Int!
    failed: Int!
    p50Ms: Int
    p99Ms: Int
  }
  "An endpoint with failed deliveries in the report's window (deleted: it has been deleted since)."
  type ReportEndpoint {
    endpointId: ID!
    url: String
    deleted: Boolean!
    delivered: Int!
    failed: Int!
  }
  "How many of the tenant's subscriptions are in one state."
  type SubscriptionStateCount {
    "As the provider names it: active, trialing, past_due, canceled, …"
    state: String!
    count: Int!
  }
  type Report {
    buckets: [ReportBucketRow!]!
    totals: ReportTotals!
    "Per event type over the whole window, most accepted first."
    byEventType: [ReportEventType!]!
    "The endpoints with the most failed deliveries in the window (1 to 100, default 5), most failed first; only endpoints with failures."
    failingEndpoints(first: Int): [ReportEndpoint!]!
    "Per day and currency, dated by the provider (currencies are never added together)."
    billing: [BillingTotal!]!
    "The tenant's subscriptions (from billing webhooks) per state as they stand now, whatever the window; most first, at most 100 states."
    subscriptionsByState: [SubscriptionStateCount!]!
  }

  type AuditEntry {
    id: ID!
    environment: String
    actor: String
    action: String!
    target: String
    address: String
    at: String!
    details: JSON!
  }
  type AuditConnection {
    nodes: [AuditEntry!]!
    pageInfo: PageInfo!
  }

  type User {
    id: ID!
    "The email, which is the username."
    email: String!
    role: Role!
    "The one environment it may use; null: every environment (operators only)."
    environment: Environment
    tenant: TenantRef
    "ACTIVE or DISABLED."
    status: String!
    createdAt: String!
    lastLoginAt: String
    "False until the user has an authenticator: its next login enrols one."
    enrolled: Boolean!
  }
  type UserConnection {
    nodes: [User!]!
    pageInfo: PageInfo!
  }

  "Shown once: the user scans otpauthUri (or types totpSecret) into an authenticator and keeps the recovery codes. All null (and no codes) for a user who enrols at its next login."
  type UserWithSecondFactor {
    user: User!
    totpSecret: String
    otpauthUri: String
    "An SVG QR code of otpauthUri, as a data: URL for an <img>."
    qrCode: String
    recoveryCodes: [String!]!
  }

  "SECRET: sk_test_…/sk_live_…, for programs calling the REST API (never in a browser). PUBLIC: pk_test_…/pk_live_…, for embedding the portal from its allowed origins."
  enum ApiKeyKind {
    SECRET
    PUBLIC
  }
  "An API key of this environment as lists show it: never the key itself, which Herald does not keep (only a hash)."
  type ApiKey {
    id: ID!
    kind: ApiKeyKind!
    "The first characters of the key (sk_test_AbCd), to recognise it."
    prefix: String!
    "A label for lists; null when none was given."
    name: String
    environment: Environment!
    "The one tenant a tenant-scoped key reaches; null: every tenant of the environment (an operator key)."
    tenant: TenantRef
    "Public keys: the origins allowed to embed the portal with it. Empty for a secret key."
    allowedOrigins: [String!]!
    createdAt: String!
    "To the minute (recorded at most once a minute per key per node); null: never used."
    lastUsedAt: String
    "When it stops working; null: never."
    expiresAt: String
    "When it was revoked; null: not revoked."
    revokedAt: String
    "Neither revoked nor expired: the key works."
    active: Boolean!
  }
  type ApiKeyConnection {
    nodes: [ApiKey!]!
    pageInfo: PageInfo!
  }
  input CreateApiKeyInput {
    "Default SECRET."
    kind: ApiKeyKind
    "Scope the key to this tenant (id or uid); left out: an operator key, every tenant."
    tenant: ID
    "PUBLIC only, and at least one: origins allowed to embed the portal, scheme://host[:port] like https://app.example.com."
    allowedOrigins: [String!]
    "The key stops working this many seconds from now (at least 1); left out: never."
    expiresInSeconds: Int
    "A label for lists, 1 to 200 characters."
    name: String
  }
  type CreatedApiKey {
    apiKey: ApiKey!
    "The key itself (sk_… or pk_…). Shown this once: Herald keeps only a hash."
    key: String!
  }

  input CreateUserInput {
    email: String!
    role: Role!
    "Required for a TENANT user (id or uid); refused for an OPERATOR."
    tenant: ID
    "At least 12 characters."
    password: String!
    "No second factor now: the user enrols an authenticator by QR code at its first login, and nobody else sees its secret."
    enrolAtFirstLogin: Boolean
  }

  type Query {
    viewer: Viewer!
    "Operators only: the users of this environment (and operators of every environment)."
    users(first: Int, after: String): UserConnection!
    "Newest first. search (1 to 200 characters) keeps the tenants whose uid or name starts with it, ignoring case, and the one whose id it is. A tenant session lists its own tenant only."
    tenants(search: String, first: Int, after: String): TenantConnection!
    "One tenant by its id or uid; a tenant session reaches its own only."
    tenant(id: ID!): Tenant!
    customers(tenant: ID, search: String, kind: CustomerKind, first: Int, after: String): CustomerConnection!
    "One customer: by its id, or by its key with tenant."
    customer(customerId: ID!, tenant: ID): Customer!
    "Custom data of a customer: by its id, or by its key with tenant."
    customData(customerId: ID!, tenant: ID): JSON!
    eventTypes: [EventType!]!
    endpoints(tenant: ID): [Endpoint!]!
    "The signing secret of an endpoint (audited)."
    endpointSecret(endpointId: ID!): String!
    sources(tenant: ID): [Source!]!
    inboundMessages(tenant: ID, source: ID, status: String, first: Int, after: String): InboundConnection!
    "The delivery log, newest first; since and until (ISO 8601) bound when the events were accepted. With endpoint: only events with a delivery to it, and status is that delivery's (I, S or F)."
    events(
      tenant: ID
      type: String
      status: EventStatus
      since: String
      until: String
      endpoint: ID
      first: Int
      after: String
    ): EventConnection!
    "One event with its deliveries and their attempts (a test event, say, to see what its endpoint answered)."
    event(tenant: ID, id: ID!): Event!
    "A bulk recovery (recoverEndpoint answers its id): done grows towards total while status is RUNNING."
    recovery(id: ID!): Recovery!
    "Delivery volume and latency between from and to (ISO 8601; default the last 24 hours), per HOUR or DAY (UTC)."
    report(tenant: ID, from: String, to: String, bucket: ReportBucket): Report!
    "Operators only: logins, sessions and user changes, newest first."
    auditLog(first: Int, after: String): AuditConnection!
    "Operators only: the API keys of this environment, secret and public, newest first; revoked and expired ones too."
    apiKeys(first: Int, after: String): ApiKeyConnection!
  }

  type RefreshedSession {
    sessionKey: String!
    expiresAt: String!
    environment: Environment!
  }

  type Mutation {
    createPerson(tenant: ID, input: PersonInput!): Customer!
    createOrganization(tenant: ID, input: OrganizationInput!): Customer!
    "customerId: the customer's id, or its key when tenant is given."
    saveAddress(customerId: ID!, tenant: ID, input: AddressInput!): Customer!
    "Merges into the customer's custom data; a field set to null is removed."
    saveCustomData(customerId: ID!, tenant: ID, data: JSON!): Customer!
    createEndpoint(tenant: ID, input: CreateEndpointInput!): CreatedEndpoint!
    updateEndpoint(id: ID!, input: UpdateEndpointInput!): Endpoint!
    "A new signing secret; the old one keeps signing beside it for 24 hours (audited)."
    rotateEndpointSecret(endpointId: ID!): String!
    "Resends in the background every delivery that failed for this endpoint between since and until (default now)."
    recoverEndpoint(endpointId: ID!, since: String!, until: String): Recovery!
    "Sends the example of eventType (default: the endpoint's first type) to this endpoint only."
    sendTestEvent(endpointId: ID!, eventType: String): TestEvent!
    "Sends a delivery again now (a finished one starts a new round of retries)."
    resendDelivery(id: ID!): ResentDelivery!
    "Ends this session and answers a new one with a full lifetime."
    refreshSession: RefreshedSession!
    "Ends this session: its key stops working at once."
    logOut: Boolean!
    "Operators only. An OPERATOR made here may use this session's environment only."
    createUser(input: CreateUserInput!): UserWithSecondFactor!
    "Operators only: refuses the user's logins and ends its sessions."
    disableUser(id: ID!): User!
    enableUser(id: ID!): User!
    "Operators only: a new TOTP secret and recovery codes (the old ones stop working); ends the user's sessions. With enrolAtNextLogin, no new secret: the user enrols one at its next login."
    resetMfa(id: ID!, enrolAtNextLogin: Boolean): UserWithSecondFactor!
    "Operators only: a key of this environment; the answer holds the key itself, shown this once (audited, never the key)."
    createApiKey(input: CreateApiKeyInput!): CreatedApiKey!
    "Operators only: the key stops working at once on this node and within 5 seconds on the others (audited). Revoking twice is harmless."
    revokeApiKey(id: ID!): ApiKey!
    "Operators only: replaces a live public key's allowed origins (at least one; to stop all embedding, revoke the key). Audited with the origins before and after."
    setApiKeyOrigins(id: ID!, allowedOrigins: [String!]!): ApiKey!
  }
`;
