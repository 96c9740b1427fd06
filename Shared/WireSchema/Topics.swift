/// Topic names: contracts that other systems rely on (see `topics/asyncapi.yaml`).
public enum Topics {
    public static let counterparties = "crm.counterparties.v1"
    public static let interactions = "crm.interactions.v1"
    public static let staff = "crm.staff.v1"
    public static let suppliers = "crm.suppliers.v1"
    public static let inquiries = "crm.inquiries.v1"
    public static let deals = "crm.deals.v1"
    public static let campaigns = "crm.campaigns.v1"
    public static let activities = "crm.activities.v1"
    public static let reminders = "crm.reminders.v1"
    public static let webhooks = "crm.webhooks.v1"
    public static let segments = "crm.segments.v1"
    public static let classificationRuns = "crm.classification-runs.v1"
    public static let salesConditions = "crm.sales-conditions.v1"
    public static let dealSettings = "crm.deal-settings.v1"
    public static let deadLetter = "crm.deadletter.v1"
    public static let erpOrders = "erp.orders.v1"
    public static let erpPurchases = "erp.purchases.v1"
}

/// Headers of a dead-letter record: where the bad record came from and why it was refused.
public enum DeadLetterHeader {
    public static let sourceTopic = "crm_source_topic"
    public static let sourcePartition = "crm_source_partition"
    public static let sourceOffset = "crm_source_offset"
    public static let error = "crm_error"
    public static let consumer = "crm_consumer"
}
