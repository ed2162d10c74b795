(function(){
/* The notes table: sort, filter, show a page of rows at a time, download the matching rows as CSV.
   This runs right after the table is parsed, before a style element shows it (index.css hides it):
   a long table is laid out once, a page of rows, not row by row as it is parsed. */
var t=document.getElementById('notes');if(!t||!t.tBodies.length)return;
var body=t.tBodies[0],ths=t.tHead.rows[0].cells,refresh=function(){};
function key(tr,k){var v=tr.getAttribute('data-'+k);return k==='file'?(v||''):parseFloat(v);}
for(var i=0;i<ths.length;i++)(function(th){
 var k=th.getAttribute('data-sort');if(!k)return;
 var b=document.createElement('button');b.type='button';b.className='sort';
 while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
 b.addEventListener('click',function(){
  var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  for(var j=0;j<ths.length;j++)ths[j].removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,c){var x=key(a,k),y=key(c,k);
   if(x<y)return -dir;if(x>y)return dir;return key(a,'order')-key(c,'order');});
  rows.forEach(function(r){body.appendChild(r);});
  refresh(true);
 });
})(ths[i]);
document.documentElement.className+=' js';

/* The rows' summary.csv cells are in #rows-data: filters and the download need no server. */
var form=document.getElementById('filters'),src=document.getElementById('rows-data');
if(!form||!src)return;
var data;try{data=JSON.parse(src.textContent);}catch(e){return;}
var F=data.fields,R=data.rows,items=data.items,LBL=data.labels||{},GAP={partial:1,missing:1,conflict:1},PAGE=500,limit=PAGE;
t.addEventListener('mouseover',function(e){
 var td=e.target&&e.target.closest?e.target.closest('td.it'):null;if(!td||td.title)return;
 var m=/\bs-(\w+)/.exec(td.className),ab=ths[td.cellIndex]&&ths[td.cellIndex].querySelector('abbr');
 if(m)td.title=(ab?ab.title+': ':'')+(LBL[m[1]]||m[1]);
});
function col(n){return F.indexOf(n);}
var cV=col('verdict'),cR=col('verdict_reason'),cE=col('error'),cA=col('advisories'),cF=col('file'),cI=col('id'),cC=col('case');
var itemCols=items.map(col),recs=R.map(function(r){
 return {v:r[cE]?'error':r[cV],r:r[cE]?'':r[cR],st:itemCols.map(function(c){return r[c]||'';}),
  a:r[cA]?r[cA].split(';').map(function(s){return s.trim();}):[],q:[r[cF],r[cI],r[cC]].join(' ').toLowerCase()};
});
function status(st,want){return want==='gap'?!!GAP[st]:st===want;}
/* "kind:code" one advisory; "kind:" the kind without a code; "kind" any advisory of the kind */
function advisory(list,want){
 var bare=want.charAt(want.length-1)===':',kind=want.indexOf(':')<0;
 for(var i=0;i<list.length;i++){var a=list[i];
  if(a===want||(bare&&a===want.slice(0,-1))||(kind&&a.split(':')[0]===want))return true;}
 return false;
}
function matches(x,f){
 if(!x)return false;
 if(f.verdict&&x.v!==f.verdict)return false;
 if(f.reason&&x.r!==f.reason)return false;
 if(f.status){
  var idx=f.item?[items.indexOf(f.item)]:itemCols.map(function(_,i){return i;}),ok=false;
  for(var i=0;i<idx.length&&!ok;i++)ok=status(x.st[idx[i]],f.status);
  if(!ok)return false;
 }
 if(f.advisory&&!advisory(x.a,f.advisory))return false;
 return !f.q||x.q.indexOf(f.q)>=0;
}
var out=document.getElementById('shown'),link=document.getElementById('download');
var more=document.getElementById('more'),all=document.getElementById('all');
function el(n){return form.elements.namedItem(n);} /* not elements.item: that is a method */
function current(){
 return {verdict:el('verdict').value,reason:el('reason').value,item:el('item').value,status:el('status').value,advisory:el('advisory').value,q:el('q').value.trim().toLowerCase()};
}
function rec(tr){return recs[+tr.getAttribute('data-order')];}
/* The matching rows, in the table's order: the first `limit` shown. */
function apply(keep){
 if(!keep)limit=PAGE;
 var f=current(),rows=body.rows,shown=0,matched=0;
 for(var i=0;i<rows.length;i++){
  var tr=rows[i],m=matches(rec(tr),f),show=m&&matched<limit;
  if(m)matched++;
  if(tr.hidden===show)tr.hidden=!show;
  if(show)shown++;
 }
 out.textContent=shown===matched?'Showing '+shown+' of '+recs.length+' note(s)':'Showing the first '+shown+' of '+matched+' matching note(s) ('+recs.length+' in all)';
 out.setAttribute('data-shown',shown);out.setAttribute('data-matched',matched);
 more.hidden=all.hidden=shown===matched;
 if(more)more.textContent='Show '+Math.min(PAGE,matched-shown)+' more';
}
refresh=apply;
function cell(s){s=s==null?'':String(s);return /[",\r\n]/.test(s)?'"'+s.replace(/"/g,'""')+'"':s;}
function csv(){
 var f=current(),lines=[F.map(cell).join(',')];
 Array.prototype.forEach.call(body.rows,function(tr){if(matches(rec(tr),f))lines.push(R[+tr.getAttribute('data-order')].map(cell).join(','));});
 return lines.join('\n')+'\n';
}
form.addEventListener('submit',function(e){e.preventDefault();});
form.addEventListener('input',function(){apply();});
form.addEventListener('change',function(e){
 if(e.target.name==='item'&&e.target.value&&!el('status').value)el('status').value='gap';
 apply();
});
form.addEventListener('reset',function(){setTimeout(apply,0);});
more.addEventListener('click',function(){limit+=PAGE;apply(true);});
all.addEventListener('click',function(){limit=Infinity;apply(true);});
/* A blob, not a data: URL: a browser may refuse a URL of several megabytes. */
var url=null;
link.addEventListener('click',function(){
 if(url)URL.revokeObjectURL(url);
 url=URL.createObjectURL(new Blob([csv()],{type:'text/csv;charset=utf-8'}));link.href=url;
});
document.addEventListener('click',function(e){
 var a=e.target&&e.target.closest?e.target.closest('[data-drill]'):null;if(!a)return;
 form.reset();
 ['verdict','reason','item','status','advisory'].forEach(function(k){var v=a.getAttribute('data-f-'+k);if(v)el(k).value=v;});
 apply();
});
apply();
})();
