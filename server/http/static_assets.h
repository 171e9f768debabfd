// The dashboard's own static files, embedded in the binary at build time from
// server/http/assets/ (static_assets.cc.in), so the server needs no files on
// disk and pages load nothing from elsewhere.
//
//   res.set_content(std::string(DashboardScript()), "text/javascript");
#ifndef CRUCIBLE_SERVER_HTTP_STATIC_ASSETS_H_
#define CRUCIBLE_SERVER_HTTP_STATIC_ASSETS_H_

#include <string_view>

namespace crucible {

std::string_view DashboardScript();  // assets/dashboard.js
std::string_view DashboardStyle();   // assets/dashboard.css

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_STATIC_ASSETS_H_
