import AnalyticsService
import ServiceKit

await ServiceCommand<AnalyticsService>.execute()
