// GENERATED CODE! DO NOT MODIFY BY HAND!

export type { Account } from "./Account";
export type { AccountLoginCompletedNotification } from "./AccountLoginCompletedNotification";
export type { AccountRoutingOverride } from "./AccountRoutingOverride";
export type { AccountUpdateReason } from "./AccountUpdateReason";
export type { AccountUpdatedNotification } from "./AccountUpdatedNotification";
export type { CancelLoginAccountParams } from "./CancelLoginAccountParams";
export type { CancelLoginAccountResponse } from "./CancelLoginAccountResponse";
export type { CancelLoginAccountStatus } from "./CancelLoginAccountStatus";
export type { ChatgptAuthTokensRefreshParams } from "./ChatgptAuthTokensRefreshParams";
export type { ChatgptAuthTokensRefreshReason } from "./ChatgptAuthTokensRefreshReason";
export type { ChatgptAuthTokensRefreshResponse } from "./ChatgptAuthTokensRefreshResponse";
export type { DesktopOnboardingEntrypoint } from "./DesktopOnboardingEntrypoint";
export type { GetAccountParams } from "./GetAccountParams";
export type { GetAccountResponse } from "./GetAccountResponse";
export type { LoginAccountParams } from "./LoginAccountParams";
export type { LoginAccountResponse } from "./LoginAccountResponse";
export type { LoginAppBrand } from "./LoginAppBrand";
export type { LogoutAccountResponse } from "./LogoutAccountResponse";
export type { RefreshFailure } from "./RefreshFailure";
export type { RefreshFailureReason } from "./RefreshFailureReason";
export type { ReportUnauthorizedParams } from "./ReportUnauthorizedParams";
export type { ReportUnauthorizedResponse } from "./ReportUnauthorizedResponse";
export type { WorkspaceRouting } from "./WorkspaceRouting";
