import Testing
import HBase
import HBaseRESTDouble
