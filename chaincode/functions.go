package chaincode

// Function names. Each function takes one JSON argument (the struct named in
// its comment; "{}" where none) and returns JSON; the Fabric contract exposes
// them under these exact names.
const (
	// Regulator only.
	FnAddInstitution   = "AddInstitution"   // AddInstitutionArgs
	FnSetStatus        = "SetStatus"        // SetStatusArgs
	FnSetRoles         = "SetRoles"         // SetRolesArgs
	FnSetPrice         = "SetPrice"         // SetPriceArgs
	FnSetLimit         = "SetLimit"         // SetLimitArgs
	FnRollover         = "Rollover"         // {} -> Period (the new one)
	FnClosePeriod      = "ClosePeriod"      // ClosePeriodArgs
	FnSettle           = "Settle"           // SettleArgs -> SettleResult
	FnSnapshot         = "Snapshot"         // PeriodArgs -> Snapshot
	FnMarkPaid         = "MarkPaid"         // PeriodArgs -> Snapshot
	FnSetQualityPolicy = "SetQualityPolicy" // QualityPolicy, applied from the next period

	// An institution, on its own record.
	FnUpdateProfile  = "UpdateProfile"  // Profile
	FnSetOPRFKey     = "SetOPRFKey"     // OPRFKeyArgs
	FnPublishCatalog = "PublishCatalog" // Catalog (MSPID must be empty or the caller)

	// Accounting.
	FnRecord         = "Record"         // []Entry -> []Outcome (responder)
	FnReverse        = "Reverse"        // Reverse (requester)
	FnReportBacklog  = "ReportBacklog"  // Backlog (provider; MSPID empty or the caller)
	FnReportOutcomes = "ReportOutcomes" // []OutcomeReport -> []Outcome (requester)

	// Queries (evaluated, never submitted).
	FnGetEntry         = "GetEntry"         // EntryKey -> RecordedEntry
	FnListEntries      = "ListEntries"      // EntriesQuery -> EntriesPage
	FnGetAccount       = "GetAccount"       // MSPArgs -> Account
	FnListAccounts     = "ListAccounts"     // {} -> []Account
	FnGetSnapshot      = "GetSnapshot"      // PeriodArgs -> Snapshot
	FnGetInstitution   = "GetInstitution"   // MSPArgs -> Institution
	FnListInstitutions = "ListInstitutions" // {} -> []Institution
	FnGetPrices        = "GetPrices"        // {} -> PriceList
	FnGetPeriod        = "GetPeriod"        // PeriodArgs (0 = current) -> Period
	FnGetCatalog       = "GetCatalog"       // CatalogArgs -> Catalog
	FnListExposures    = "ListExposures"    // {} -> []Exposure
	FnListBacklogs     = "ListBacklogs"     // PeriodArgs -> []Backlog
	FnListQuality      = "ListQuality"      // QualityQuery -> []QualityScore
	FnGetQualityPolicy = "GetQualityPolicy" // {} -> QualityPolicy (the one the next period captures)
)

// AddInstitutionArgs registers an institution (active, no keys yet).
type AddInstitutionArgs struct {
	MSPID string `json:"mspId"`
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
}

// SetStatusArgs suspends or reactivates an institution.
type SetStatusArgs struct {
	MSPID  string `json:"mspId"`
	Status Status `json:"status"`
}

// SetRolesArgs replaces an institution's roles.
type SetRolesArgs struct {
	MSPID string `json:"mspId"`
	Roles []Role `json:"roles"`
}

// SetPriceArgs sets a category's price per item in a mode, applying from
// the next period that opens. An empty Mode is ModeCatalog.
type SetPriceArgs struct {
	Category string `json:"category"`
	Mode     Mode   `json:"mode,omitempty"`
	Price    int64  `json:"price"`
}

// SetLimitArgs sets an institution's overdraft limit (>= 0).
type SetLimitArgs struct {
	MSPID string `json:"mspId"`
	Limit int64  `json:"limit"`
}

// PeriodArgs names a period.
type PeriodArgs struct {
	Period uint64 `json:"period"`
}

// SettleArgs runs one settlement step of at most MaxEntries entries
// (0 = DefaultSettleStep).
type SettleArgs struct {
	Period     uint64 `json:"period"`
	MaxEntries int    `json:"maxEntries,omitempty"`
}

// OPRFKeyArgs sets the caller's OPRF public key for a category.
type OPRFKeyArgs struct {
	Category string `json:"category"`
	Key      []byte `json:"key"`
}

// MSPArgs names an institution.
type MSPArgs struct {
	MSPID string `json:"mspId"`
}

// CatalogArgs names a catalog.
type CatalogArgs struct {
	MSPID    string `json:"mspId"`
	Category string `json:"category"`
	Period   uint64 `json:"period"`
}
